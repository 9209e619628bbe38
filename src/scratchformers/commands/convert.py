"""``scratchformers convert SRC DST``: a GGUF file, HF folder or cached hub id -> a clean HF folder."""

from __future__ import annotations

import argparse

DTYPES = ("float32", "float16", "bfloat16")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert a .gguf file or Hugging Face folder into a config.json + model.safetensors folder",
        description="Convert a checkpoint into a Hugging Face folder (config.json + model.safetensors + "
        "tokenizer) that both scratchformers and transformers load. GGUF files are dequantised "
        "(Q4_0/Q4_1/Q8_0/F16/F32) and their Q/K rows un-permuted; folders with sharded, .bin or "
        "legacy-named weights are normalised.",
    )
    p.add_argument("src", help="a .gguf file, a Hugging Face checkpoint folder, or a cached hub id")
    p.add_argument("dst", help="output folder (created)")
    p.add_argument("--dtype", choices=DTYPES, default=None, help="weight dtype to write (default: float32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from scratchformers.commands._wait import waiting
    from scratchformers.hub.saving import convert_checkpoint
    from scratchformers.hub.summary import summarize

    dtype = getattr(torch, args.dtype) if args.dtype else None
    with waiting(f"converting {args.src}"):  # a GGUF file is dequantised: a minute for SmolLM2 on 2 cores
        out = convert_checkpoint(args.src, args.dst, dtype=dtype)
    info = summarize(out)
    print(f"wrote {out}: {info['architecture']}, {info['parameters']:,} parameters, {info['tokenizer']}")
    return 0
