"""``scratchformers inspect PATH``: architecture, shape (layers, heads, width), parameters, dtypes, tensors, tokenizer."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="show what a checkpoint holds: architecture, layers/heads/width, parameters, dtypes, tensors, tokenizer",
        description="Read a checkpoint's headers (no weights are loaded for safetensors and GGUF) and "
        "print its architecture, shape, parameter count, dtypes, tensors and tokenizer.",
    )
    p.add_argument("path", help="a Hugging Face checkpoint folder, a .gguf file, an asset name (minilm, "
                   "smollm2-135m) or a cached hub id")
    p.add_argument("--tensors", type=int, default=12, metavar="N", help="list the first N tensors (default 12; 0 = all)")
    p.set_defaults(func=run)


def model_shape(path: Path) -> dict[str, int]:
    """Layers, heads, width, ... from config.json or the GGUF metadata (headers only)."""
    from scratchformers.checkpoints.files import read_config
    from scratchformers.checkpoints.gguf import read_gguf_summary

    shape = {}
    if path.suffix == ".gguf":
        meta, _ = read_gguf_summary(path)
        arch = meta.get("general.architecture", "")
        for label, _, gguf_key in SHAPE_KEYS:
            if gguf_key and f"{arch}.{gguf_key}" in meta:
                shape[label] = meta[f"{arch}.{gguf_key}"]
        tokens = meta.get("tokenizer.ggml.tokens")
        if tokens:
            shape["vocabulary"] = len(tokens)
        return shape
    config = read_config(path)
    for label, keys, _ in SHAPE_KEYS:
        value = next((config[k] for k in keys if config.get(k) is not None), None)
        if value is not None:
            shape[label] = value
    return shape


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from scratchformers.checkpoints.resolve import resolve
    from scratchformers.errors import CheckpointError
    from scratchformers.hub.summary import summarize

    if Path(args.path).is_file() and Path(args.path).suffix != ".gguf":
        raise CheckpointError(f"{args.path} is a file, not a checkpoint; pass a checkpoint folder (config.json + "
                              "weights), a .gguf file or a hub id")
    path = resolve(args.path)
    info = summarize(path)
    console = Console()
    console.print(f"[bold]{info['path']}[/bold]  ({info['format']})")
    console.print(f"architecture: {info['architecture']}")
    shape = model_shape(path)
    if shape:
        console.print("shape:        " + ", ".join(f"{label} {value}" for label, value in shape.items()))
    console.print(f"parameters:   {info['parameters']:,} ({info['parameters'] / 1e6:.1f}M)")
    console.print("dtypes:       " + ", ".join(f"{k} x{v}" for k, v in info["dtypes"].items()))
    console.print(f"tokenizer:    {info['tokenizer']}")
    shown = info["tensors"] if args.tensors == 0 else info["tensors"][: args.tensors]
    table = Table(title=f"tensors ({len(shown)} of {len(info['tensors'])})")
    for col in ("name", "dtype", "shape"):
        table.add_column(col)
    for name, dtype, shape_ in shown:
        table.add_row(name, str(dtype), str(tuple(shape_)))
    console.print(table)
    return 0
