"""``scratchformers train``: pretraining runs (causal LM, masked LM, the seq2seq demo) from a config."""

from __future__ import annotations

import argparse
import dataclasses


def _model_keys() -> list[str]:
    from scratchformers.models import BertConfig, EncoderDecoderConfig, GPTConfig

    keys = set()
    for cls in (GPTConfig, BertConfig, EncoderDecoderConfig):
        keys.update(f.name for f in dataclasses.fields(cls))
    return sorted(keys - {"vocab_size", "max_positions"})


def register(subparsers: argparse._SubParsersAction) -> None:
    from scratchformers.training.config import PRESETS, TrainConfig

    p = subparsers.add_parser(
        "train",
        help="pretrain a model (causal LM, masked LM) from a TOML/JSON config or a preset",
        description="Resolution order: preset < --config file < --key value overrides. "
        "The resolved config is written to RUN_DIR/config.json. Launch with torchrun for DDP.",
    )
    p.add_argument("--config", help="a .toml or .json file with TrainConfig fields")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a starting configuration")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR's latest checkpoint")
    overrides = p.add_argument_group("overrides (any TrainConfig field; model fields as --model.NAME)")
    for field in dataclasses.fields(TrainConfig):
        if field.name != "model":
            overrides.add_argument(f"--{field.name}", dest=f"cfg:{field.name}", default=argparse.SUPPRESS, metavar="V")
    for key in _model_keys():
        overrides.add_argument(f"--model.{key}", dest=f"cfg:model.{key}", default=argparse.SUPPRESS, metavar="V")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scratchformers.training.config import build_config
    from scratchformers.training.recipes import build_trainer

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg:")}
    config = build_config(preset_name=args.preset, file=args.config, overrides=overrides)
    trainer = build_trainer(config)
    if trainer.is_main:
        params = sum(p.numel() for p in trainer.model.parameters())
        print(f"{config.task}: {type(trainer.model).__name__} with {params / 1e6:.2f}M parameters on "
              f"{trainer.device}, {config.max_steps} steps -> {config.run_dir}")
    history = trainer.fit(resume=args.resume)
    if trainer.is_main and history:
        last = trainer.eval_history[-1] if trainer.eval_history else history[-1]
        print("final: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items()))
    from scratchformers.training.distributed import cleanup_distributed

    cleanup_distributed()
    return 0
