"""``scratchformers evaluate RUN_DIR``: re-evaluate the latest checkpoint of a run."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("evaluate", help="evaluate a run's latest checkpoint (loss, accuracy, F1, confusion matrix)")
    p.add_argument("run_dir", help="a folder written by `scratchformers train` or `finetune`")
    p.add_argument("--split", choices=["val", "test"], default="test", help="classification split to evaluate")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from scratchformers.errors import CheckpointError
    from scratchformers.training.config import TrainConfig
    from scratchformers.training.evaluation import evaluate_run

    run_dir = Path(args.run_dir)
    if not (run_dir / "config.json").exists():
        raise CheckpointError(f"{run_dir} has no config.json; is it a run directory of `scratchformers train`?")
    config = TrainConfig(**json.loads((run_dir / "config.json").read_text()))
    metrics = evaluate_run(config, run_dir, split=args.split)
    for key, value in metrics.items():
        if not isinstance(value, (list, dict)):
            print(f"{key:>18}: {value:.4f}" if isinstance(value, float) else f"{key:>18}: {value}")
    return 0
