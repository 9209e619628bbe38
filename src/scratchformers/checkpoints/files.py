"""Read the files of a Hugging Face checkpoint folder: ``config.json`` and the weights.

Weights come in four layouts, tried in this order (the order ``transformers`` uses):

- ``model.safetensors``                                  one file
- ``model.safetensors.index.json`` + ``model-0000k-of-0000n.safetensors``  sharded
- ``pytorch_model.bin``                                   pickle, read with ``weights_only=True``
- ``pytorch_model.bin.index.json`` + shards               sharded pickle

Everything that can go wrong with a file (missing, truncated, not JSON, not a checkpoint) becomes
a :class:`~scratchformers.errors.CheckpointError` naming the file and the likely fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from scratchformers.errors import CheckpointError

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX_NAME = "pytorch_model.bin.index.json"


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
            shards = [folder / name for name in dict.fromkeys(weight_map.values())]
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
