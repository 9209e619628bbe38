"""What is in a checkpoint, read from headers only (no weights are loaded): for ``scratchformers inspect``."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path

from scratchformers.checkpoints import files
from scratchformers.checkpoints.gguf import read_gguf_summary
from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import CheckpointError

# (what we print, the config.json keys the families use, the GGUF metadata key after "<arch>.")
SHAPE_KEYS = (
    ("layers", ("num_hidden_layers", "n_layer", "num_layers"), "block_count"),
    ("heads", ("num_attention_heads", "n_head", "num_heads"), "attention.head_count"),
    ("kv heads", ("num_key_value_heads",), "attention.head_count_kv"),
    ("width", ("hidden_size", "n_embd", "d_model"), "embedding_length"),
    ("ffn width", ("intermediate_size", "n_inner", "d_ff"), "feed_forward_length"),
    ("context", ("max_position_embeddings", "n_positions"), "context_length"),
    ("vocabulary", ("vocab_size",), None),
)


def summarize(path: str | os.PathLike) -> dict:
    """Architecture, shape (layers, heads, width, ...), parameter count, dtypes, tensors and tokenizer
    of a folder, .gguf or hub id."""
    path = resolve(path)
    return _summarize_gguf(path) if path.suffix == ".gguf" else _summarize_folder(path)


def _summarize_folder(folder: Path) -> dict:
    from safetensors import safe_open

    config = files.read_config(folder)
    tensors = []
    for weights in files.weight_files(folder):
        if weights.suffix == ".safetensors":
            try:
                with safe_open(str(weights), framework="pt") as f:
                    for name in f.keys():  # noqa: SIM118 - safe_open is not a dict
                        piece = f.get_slice(name)
                        tensors.append((name, piece.get_dtype(), tuple(piece.get_shape())))
            except Exception as err:
                raise CheckpointError(f"cannot read the header of {weights}: {err}; the file is truncated?") from err
        else:  # a pickle must be loaded to be inspected (weights_only=True)
            for name, t in files.read_pickle_weights(weights).items():
                tensors.append((name, str(t.dtype).removeprefix("torch."), tuple(t.shape)))
    return {
        "path": str(folder),
        "format": "safetensors" if files.weight_files(folder)[0].suffix == ".safetensors" else "pytorch_model.bin",
        "architecture": ", ".join(config.get("architectures") or [config.get("model_type", "?")]),
        "model_type": config.get("model_type"),
        "shape": {label: value for label, keys, _ in SHAPE_KEYS
                  if (value := next((config[k] for k in keys if config.get(k) is not None), None)) is not None},
        "parameters": sum(math.prod(shape) for _, dtype, shape in tensors if _is_float(dtype)),
        "dtypes": dict(Counter(dtype for _, dtype, _ in tensors)),
        "tensors": tensors,
        "tokenizer": _folder_tokenizer(folder),
    }


def _is_float(dtype: str) -> bool:
    """Integer tensors (BERT's saved ``position_ids``) are buffers, not parameters."""
    return not dtype.upper().startswith(("I", "U", "BOOL"))


def _folder_tokenizer(folder: Path) -> str:
    if (folder / "tokenizer.json").is_file():
        try:
            spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return "tokenizer.json (unreadable)"
        model = spec.get("model", {})
        return f"tokenizer.json: {model.get('type', '?')}, {len(model.get('vocab', {}))} tokens"
    for names, kind in ((("vocab.json", "merges.txt"), "byte-level BPE"), (("vocab.txt",), "WordPiece")):
        if all((folder / n).is_file() for n in names):
            return f"{' + '.join(names)} ({kind})"
    return "none found"


def _summarize_gguf(path: Path) -> dict:
    meta, tensors = read_gguf_summary(path)
    tokens = meta.get("tokenizer.ggml.tokens") or []
    arch = meta.get("general.architecture", "")
    shape = {label: meta[f"{arch}.{key}"] for label, _, key in SHAPE_KEYS if key and f"{arch}.{key}" in meta}
    if tokens:
        shape["vocabulary"] = len(tokens)
    return {
        "path": str(path),
        "format": "gguf",
        "architecture": f"{meta.get('general.architecture', '?')} ({meta.get('general.name', '')})",
        "model_type": meta.get("general.architecture"),
        "shape": shape,
        "parameters": sum(math.prod(dims) for _, _, dims in tensors),
        "dtypes": dict(Counter(kind for _, kind, _ in tensors)),
        "tensors": tensors,
        "tokenizer": f"GGUF metadata: {meta.get('tokenizer.ggml.model', '?')} "
        f"(pre-tokenizer {meta.get('tokenizer.ggml.pre', '?')}), {len(tokens)} tokens",
    }
