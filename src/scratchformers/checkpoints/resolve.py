"""Turn what the user passed (a folder, a .gguf file, or a hub id like ``"gpt2"``) into a local path.

Hub ids go through ``huggingface_hub``'s own cache, so a model downloaded once by ``transformers``
is found again. ``HF_HUB_OFFLINE=1`` (read when called, not at import) forbids any network access;
``HF_HOME`` / ``HF_HUB_CACHE`` choose the cache folder as in ``huggingface_hub``. Asset names
(``minilm``, ``asset:minilm``) are looked up in :mod:`scratchformers.assets`, one layer below.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from scratchformers.assets import find_asset
from scratchformers.errors import CheckpointError

# owner/name or a bare legacy name ("gpt2", "bert-base-uncased"): letters, digits, - _ .
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")

# Files a checkpoint folder needs; weights in the other formats are skipped when safetensors exist.
_ALLOW = ["*.json", "*.safetensors", "*.txt", "*.model", "merges.txt", "vocab.*"]


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_cache_dir() -> Path:
    """Where Hugging Face keeps downloaded models: HF_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME or
    ~/.cache, then huggingface/hub (the one place scratchformers computes it)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def looks_like_hub_id(text: str) -> bool:
    return bool(_HUB_ID.match(text)) and not text.endswith((".gguf", ".json", ".safetensors", ".bin"))


def resolve(path_or_id: str | os.PathLike) -> Path:
    """A local folder or ``.gguf`` file for ``path_or_id``: an existing path, a packaged asset
    (``minilm`` or ``asset:minilm``), or a hub id found in the local HF cache."""
    path = Path(path_or_id).expanduser()
    if path.exists():
        return path
    text = str(path_or_id)
    asset = find_asset(text)  # "did you mean" for a typo; the pip command when the asset is missing
    if asset is not None:
        return asset
    if not looks_like_hub_id(text):
        raise CheckpointError(
            f"{text} does not exist. Pass a folder with config.json + model.safetensors, a .gguf "
            "file, an asset name (`scratchformers assets` lists them) or a Hugging Face hub id such as 'gpt2'."
        )
    return Path(_snapshot(text))


def _snapshot(repo_id: str) -> str:
    cache = hub_cache_dir()
    how_to = (
        f"To use a local copy instead, pass its folder: from_pretrained('/path/to/{repo_id.split('/')[-1]}') "
        f"with config.json + model.safetensors inside (e.g. one saved by transformers' save_pretrained "
        f"or downloaded with `huggingface-cli download {repo_id} --local-dir DIR`). The packaged offline "
        f"models are listed by `scratchformers assets`."
    )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:  # pragma: no cover - transformers installs it
        raise CheckpointError(
            f"{repo_id!r} is not a local path and huggingface_hub is not installed to look it up. {how_to}"
        ) from err
    try:
        return snapshot_download(
            repo_id, cache_dir=cache, local_files_only=offline(), allow_patterns=_ALLOW
        )
    except Exception as err:  # LocalEntryNotFoundError, RepositoryNotFoundError, connection errors
        if offline():
            reason = (
                f"{repo_id!r} is not a local path, HF_HUB_OFFLINE is set and {repo_id!r} is not in the "
                f"local Hugging Face cache ({cache})."
            )
        else:
            reason = (
                f"{repo_id!r} is not a local path, it is not in the local Hugging Face cache ({cache}) "
                f"and downloading it failed ({type(err).__name__}: {err})."
            )
        raise CheckpointError(f"{reason} {how_to}") from err
