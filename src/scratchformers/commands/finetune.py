"""``scratchformers finetune MODEL --data ... --strategy full|frozen|gradual``: sequence classification."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="fine-tune a pretrained BERT for sequence classification (accuracy, F1, confusion matrix)",
        description="Splits the data 80/10/10 (fixed, stratified), trains, then evaluates on the test split; "
        "RUN_DIR gets config.json, metrics.jsonl, curves.png, test_metrics.json, test_confusion_matrix.png.",
    )
    p.add_argument("model", help="a pretrained BERT folder (config.json + weights + vocab), e.g. asset:minilm")
    p.add_argument("--data", default="rotten-tomatoes", help="rotten-tomatoes (the packaged asset), or a .jsonl/.csv/.tsv file")
    p.add_argument("--strategy", choices=["full", "frozen", "gradual"], default="full",
                   help="full: train every weight; frozen: only the head; gradual: unfreeze layer by layer")
    p.add_argument("--text-column", default="text", help="the column holding the text in a .jsonl/.csv/.tsv file")
    p.add_argument("--label-column", default="label", help="the column holding the label")
    p.add_argument("--epochs", type=float, default=3.0, help="passes over the training split (fractions allowed)")
    p.add_argument("--max-steps", type=int, default=None, help="overrides --epochs")
    p.add_argument("--lr", type=float, default=None, help="default: 3e-5 (full, gradual), 1e-3 (frozen)")
    p.add_argument("--batch-size", type=int, default=32, help="examples per step")
    p.add_argument("--max-length", type=int, default=128, help="truncate longer examples (they are counted)")
    p.add_argument("--pooling", choices=["cls", "mean"], default="cls",
                   help="classifier input: the [CLS] vector or the mean over tokens")
    p.add_argument("--warmup-ratio", type=float, default=0.1, help="fraction of the steps with a linear lr warm-up")
    p.add_argument("--layer-lr-decay", type=float, default=1.0,
                   help="layer-wise lr decay: the head gets --lr, each layer below it DECAY times the one above (1 = off)")
    p.add_argument("--no-keep-best", dest="keep_best", action="store_false",
                   help="test the final weights (default: the epoch with the best validation accuracy)")
    p.add_argument("--dtype", choices=["auto", "float32", "bf16"], default="auto",
                   help="auto: bf16 autocast on CUDA, float32 on CPU; bf16 on a CPU with native bf16 "
                   "(avx512_bf16/AMX) runs the matmuls several times faster")
    p.add_argument("--seed", type=int, default=42, help="random seed (split, init, shuffling)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--run-dir", default=None, help="default: runs/finetune-STRATEGY")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scratchformers.commands._checks import check_device, check_utf8_file
    from scratchformers.errors import ConfigError
    from scratchformers.training.classification import DEFAULT_LR, finetune
    from scratchformers.training.config import TrainConfig
    from scratchformers.training.run_lock import lock_on_main_rank

    if args.max_steps is None and not args.epochs > 0:
        raise ConfigError(f"--epochs must be positive (fractions like 0.5 are fine), got {args.epochs}")
    config = TrainConfig(
        task="classification", strategy=args.strategy, lr=args.lr or DEFAULT_LR[args.strategy],
        batch_size=args.batch_size, epochs=0.0 if args.max_steps is not None else args.epochs,
        max_steps=args.max_steps if args.max_steps is not None else 1,
        max_length=args.max_length, pooling=args.pooling, layer_lr_decay=args.layer_lr_decay,
        keep_best=args.keep_best, dtype=args.dtype, text_column=args.text_column, label_column=args.label_column,
        schedule="linear", warmup_ratio=args.warmup_ratio, warmup_steps=0, weight_decay=0.01, betas=(0.9, 0.999),
        grad_clip=1.0, seed=args.seed, device=args.device, compile=args.compile, eval_every=10**9, save_every=10**9,
        log_every=20, run_dir=args.run_dir or f"runs/finetune-{args.strategy}",
    )
    from scratchformers.checkpoints.resolve import resolve

    check_device(config.device)
    if Path(args.data).is_file():  # a dataset file: refuse a non-UTF-8 one before loading the model
        check_utf8_file(args.data, "dataset")
    with lock_on_main_rank(config.run_dir):
        report = finetune(resolve(args.model), args.data, config)
    if report:
        print(f"test accuracy {report['accuracy']:.4f}, macro F1 {report['macro_f1']:.4f} "
              f"({report['num_examples']} examples) -> {config.run_dir}/test_metrics.json")
    return 0
