"""``scratchformers train``: pretraining runs (causal LM, masked LM, the seq2seq demo) from a config."""

from __future__ import annotations

import argparse
import dataclasses


def _model_config_class(config):
    from scratchformers.models import BertConfig, EncoderDecoderConfig, GPTConfig

    if config.task == "seq2seq":
        return EncoderDecoderConfig
    return BertConfig if config.model_type == "bert" else GPTConfig


def _model_keys() -> list[str]:
    from scratchformers.models import BertConfig, EncoderDecoderConfig, GPTConfig

    keys = set()
    for cls in (GPTConfig, BertConfig, EncoderDecoderConfig):
        keys.update(f.name for f in dataclasses.fields(cls))
    return sorted(keys - {"vocab_size", "max_positions"})


def check_model_settings(config) -> None:
    """``model`` keys exist for the model type and have the type of the field's default (None: any)."""
    from scratchformers.errors import ConfigError
    from scratchformers.training.config import type_word

    if config.init_from:  # a pretrained model: its own config decides
        return
    cls = _model_config_class(config)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for key, value in config.model.items():
        if key not in defaults or key in ("vocab_size", "max_positions"):
            known = ", ".join(sorted(set(defaults) - {"vocab_size", "max_positions"}))
            raise ConfigError(f"model.{key} is not a {cls.__name__} setting; known: {known}")
        default = defaults[key]
        if default is None or default is dataclasses.MISSING:
            continue
        numeric = isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool)
        if type(value) is not type(default) and not numeric:
            raise ConfigError(f"model.{key} must be {type_word(default)} (like {default!r}), got {value!r}")


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
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue from RUN_DIR's latest checkpoint (or the step_N folder given); settings not "
                   "passed again come from the checkpoint, and only max_steps, the log/eval/save intervals, "
                   "keep_last, progress, plot, device and compile may change")
    overrides = p.add_argument_group("overrides (any TrainConfig field; model fields as --model.NAME)")
    for field in dataclasses.fields(TrainConfig):
        if field.name != "model":
            overrides.add_argument(f"--{field.name}", dest=f"cfg:{field.name}", default=argparse.SUPPRESS, metavar="V")
    for key in _model_keys():
        overrides.add_argument(f"--model.{key}", dest=f"cfg:model.{key}", default=argparse.SUPPRESS, metavar="V")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scratchformers.commands._checks import check_corpus, check_device
    from scratchformers.errors import ConfigError, TrainingInterrupted
    from scratchformers.training.config import TrainConfig, explicit_values, resolve_data_path
    from scratchformers.training.recipes import build_trainer
    from scratchformers.training.run_lock import lock_on_main_rank

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg:")}
    given = explicit_values(preset_name=args.preset, file=args.config, overrides=overrides)
    config = TrainConfig(**given)
    if config.save_every == 0:
        raise ConfigError("--save_every 0 would never save a checkpoint (Ctrl-C and --resume need one); give a "
                          "step count, e.g. --save_every 500 (the last step is always saved)")
    with lock_on_main_rank(config.run_dir):
        checkpoint = None
        if args.resume:
            checkpoint, config = _resume_target(args.resume, config, given)
        check_device(config.device)
        check_model_settings(config)
        if config.task != "seq2seq" and config.data:
            check_corpus(resolve_data_path(config.data))
        trainer = build_trainer(config)
        if trainer.is_main:
            params = sum(p.numel() for p in trainer.model.parameters())
            print(f"{config.task}: {type(trainer.model).__name__} with {params / 1e6:.2f}M parameters on "
                  f"{trainer.device}, {config.max_steps} steps -> {config.run_dir}")
        try:
            history = trainer.fit(resume=checkpoint or False)
        except TrainingInterrupted as err:
            raise TrainingInterrupted(f"{err}; continue with the same command plus --resume", err.checkpoint) from None
    if trainer.is_main and history:
        last = trainer.eval_history[-1] if trainer.eval_history else history[-1]
        print("final: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items()))
    from scratchformers.training.distributed import cleanup_distributed

    cleanup_distributed()
    return 0


def _resume_target(resume, config, given: dict):
    """(checkpoint folder, config to resume with): the saved config updated by the allowed changes."""
    from pathlib import Path

    from scratchformers.errors import ConfigError
    from scratchformers.training.checkpoint import latest_checkpoint, read_state
    from scratchformers.training.config import resume_config

    checkpoint = Path(resume) if isinstance(resume, str) else latest_checkpoint(config.run_dir)
    if checkpoint is None:
        raise ConfigError(f"--resume: {config.run_dir} has no checkpoint (no checkpoints/latest.json); drop "
                          "--resume to start a new run there, or give the run's --run_dir")
    state = read_state(checkpoint)
    if "config" not in state:
        raise ConfigError(f"--resume: {checkpoint} holds no training config (not written by `scratchformers train`)")
    resumed, changes = resume_config(state["config"], given, int(state.get("step", 0)))
    for key, (old, new) in changes.items():
        note = " (the lr schedule is recomputed for the new length)" if key == "max_steps" else ""
        print(f"resume: {key} {old!r} -> {new!r}{note}")
    return checkpoint, resumed
