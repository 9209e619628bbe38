"""``scratchformers inspect PATH``: architecture, shape (layers, heads, width), parameters, dtypes, tensors, tokenizer."""

from __future__ import annotations

import argparse
from pathlib import Path


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
    if info["shape"]:
        console.print("shape:        " + ", ".join(f"{label} {value}" for label, value in info["shape"].items()))
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
