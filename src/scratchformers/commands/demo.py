"""``scratchformers demo``: the whole package end to end on the packaged assets (see the demo/ package)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on the packaged assets (tokenizer, GPT, generation, fine-tuning, "
        "attention, doctor)",
        description="Trains a BPE tokenizer and a small GPT on Rotten Tomatoes, compares decoding strategies "
        "with SmolLM2-135M, fine-tunes MiniLM for sentiment, renders its attention and runs the doctor. "
        "Everything goes to runs/demo-<timestamp>/ with a report.html.",
    )
    p.add_argument("--quick", action="store_true", help="smallest settings, seconds on a CPU (CI smoke test)")
    p.add_argument("--out", default=None, help="output folder (default: runs/demo-<timestamp>)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: cuda if available")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the models are small, and extra threads stall when other "
                   "jobs share the cores; try 2 or more on an idle machine)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from scratchformers.demo import DemoSettings, print_summary, run_demo
    from scratchformers.errors import ConfigError

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but torch.cuda.is_available() is False; use --device cpu")
    out = args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    if Path(out).exists() and not Path(out).is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder (created if missing)")
    settings = DemoSettings.quick() if args.quick else DemoSettings.full()
    print_summary(run_demo(settings, out, args.device, args.threads))
    return 0
