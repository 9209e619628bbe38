"""Read the files of a Hugging Face checkpoint folder: ``config.json`` and the weights.

Weights come in four layouts, tried in this order (the order ``transformers`` uses):

- ``model.safetensors``                                  one file
- ``model.safetensors.index.json`` + ``model-0000k-of-0000n.safetensors``  sharded
- ``pytorch_model.bin``                                   pickle, read with ``weights_only=True``
- ``pytorch_model.bin.index.json`` + shards               sharded pickle

Everything that can go wrong with a file (missing, truncated, not JSON, not a checkpoint, a shard
index pointing outside the folder) becomes a :class:`~scratchformers.errors.CheckpointError` naming
the file and the likely fix. :func:`write_folder` writes the same layout back (one safetensors file).
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import torch

from scratchformers.errors import CheckpointError

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX_NAME = "pytorch_model.bin.index.json"


@dataclass
class Checkpoint:
    """A checkpoint in Hugging Face form (``config.json`` contents + HF-named tensors), wherever it came from."""

    path: Path  # the folder or .gguf file
    config: dict  # config.json contents
    state_dict: dict[str, torch.Tensor]  # Hugging Face tensor names
    tensor_types: dict[str, str] = field(default_factory=dict)  # GGUF only: source name -> quantisation type


def read_json(path: Path, *, what: str = "file") -> dict:
    """A JSON object from ``path``, or a CheckpointError that says where the JSON broke."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{what} {path} is not UTF-8 text ({err}); is it really a JSON file?") from err
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{what} {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. "
            "The file is probably truncated or hand-edited; restore it from the original checkpoint."
        ) from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} must hold a JSON object, found a {type(data).__name__}")
    return data


def read_config(folder: Path) -> dict:
    """The ``config.json`` of a checkpoint folder as a dict."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not path.is_file():
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:12]) or "nothing"
        raise CheckpointError(
            f"{folder} has no {CONFIG_NAME} (found: {found}). A Hugging Face checkpoint folder holds "
            f"{CONFIG_NAME} next to {SAFETENSORS_NAME} (or {BIN_NAME}); for a GGUF file pass the "
            ".gguf path itself."
        )
    return read_json(path, what="config")


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a checkpoint folder, shards in index order."""
    folder = Path(folder)
    for single, index in ((SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME), (BIN_NAME, BIN_INDEX_NAME)):
        if (folder / single).is_file():
            return [folder / single]
        if (folder / index).is_file():
            weight_map = read_json(folder / index, what="shard index").get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise CheckpointError(f"shard index {folder / index} has no 'weight_map' object")
            shards = [folder / _shard_name(folder / index, name) for name in dict.fromkeys(weight_map.values())]
            missing = [p.name for p in shards if not p.is_file()]
            if missing:
                raise CheckpointError(
                    f"{folder / index} lists {len(shards)} shards but {len(missing)} are missing: "
                    f"{', '.join(missing)}. Copy every shard next to the index."
                )
            return shards
    raise CheckpointError(
        f"{folder} holds no weights: expected {SAFETENSORS_NAME}, {SAFETENSORS_INDEX_NAME}, {BIN_NAME} "
        f"or {BIN_INDEX_NAME}."
    )


def _shard_name(index: Path, name) -> str:
    """A shard file name from an index, refused unless it names a file inside the index's folder.

    Checked on the text, not with ``resolve()``: the Hugging Face cache stores every file as a
    symlink into a shared blob folder, so resolved paths legitimately leave the snapshot folder.
    """
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"shard index {index} lists {name!r} as a shard; expected a file name")
    normal = posixpath.normpath(name.replace("\\", "/"))
    if posixpath.isabs(normal) or os.path.isabs(name) or normal == ".." or normal.startswith("../") or ":" in normal:
        raise CheckpointError(
            f"shard index {index} lists {name!r}, which is outside the checkpoint folder; shards must be "
            "files next to the index (a hand-edited or malicious index?). Fix the index's weight_map."
        )
    return normal


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of one ``.safetensors`` file (a truncated file gives a clear error)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"cannot read {path} ({path.stat().st_size} bytes) as safetensors: {err}. The file is "
            "probably truncated (an interrupted download or copy); fetch it again."
        ) from err


def read_pickle_weights(path: Path) -> dict[str, torch.Tensor]:
    """A ``pytorch_model.bin`` state dict, loaded with ``weights_only=True`` (no code execution)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, EOFError)
        raise CheckpointError(
            f"cannot read {path} as a PyTorch state dict with weights_only=True: {err}. The file is "
            "truncated, not a checkpoint, or pickles arbitrary objects (which we refuse to run)."
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a flat {{name: tensor}} state dict")
    return state


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint folder, whatever its layout, as one ``{name: tensor}`` dict."""
    state: dict[str, torch.Tensor] = {}
    for path in weight_files(folder):
        shard = read_safetensors(path) if path.suffix == ".safetensors" else read_pickle_weights(path)
        state.update(shard)
    return state


def read_folder(folder: Path) -> Checkpoint:
    """``config.json`` and every tensor of a Hugging Face checkpoint folder."""
    folder = Path(folder)
    if folder.is_file():
        raise CheckpointError(
            f"{folder} is a file; pass the folder that contains it (with config.json), or a .gguf file"
        )
    return Checkpoint(folder, read_config(folder), read_weights(folder))


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def write_folder(directory: str | os.PathLike, hf_config: dict, state: dict[str, torch.Tensor]) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (a Hugging Face checkpoint folder)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    if directory.is_file():
        raise CheckpointError(f"{directory} is a file; save_pretrained needs a folder path")
    directory.mkdir(parents=True, exist_ok=True)
    # safetensors refuses tensors that share memory (views of one storage): copy those only.
    tensors, storages = {}, set()
    for name, t in state.items():
        t = t.detach().to("cpu").contiguous()
        key = t.untyped_storage().data_ptr()
        tensors[name] = t.clone() if key in storages else t
        storages.add(key)
    save_file(tensors, str(directory / SAFETENSORS_NAME), metadata={"format": "pt"})
    # safetensors creates its file with mode 0600; give it the mode any other new file gets (0644 under umask 022)
    os.chmod(directory / SAFETENSORS_NAME, 0o666 & ~_current_umask())
    (directory / CONFIG_NAME).write_text(json.dumps(hf_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return directory
