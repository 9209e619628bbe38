"""``scratchformers train``: pretraining runs (causal LM, masked LM, the seq2seq demo) from a config."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re

# Help for the TrainConfig fields whose definition has no comment (the others use their comment).
_HELP = {
    "text_column": "classification: the column holding the text",
    "label_column": "classification: the column holding the label",
    "bucket_by_length": "classification: batch examples of similar length together (less padding)",
    "grad_accum_steps": "micro-batches accumulated per optimizer step",
    "max_steps": "optimizer steps to run",
    "lr": "peak learning rate", "weight_decay": "AdamW weight decay", "betas": "AdamW betas, e.g. 0.9,0.99",
    "eps": "AdamW epsilon", "warmup_steps": "linear warm-up steps", "seed": "random seed",
    "compile": "torch.compile the model", "run_dir": "folder for config.json, checkpoints, metrics and plots",
    "log_every": "steps between log lines", "eval_every": "steps between evaluations",
    "eval_batches": "batches per evaluation", "save_every": "steps between checkpoints (the last step always saves)",
    "keep_last": "checkpoints kept (0 = all)", "progress": "show a progress bar (true/false)",
    "plot": "write curves.png at the end (true/false)",
}


def _field_comments(cls) -> dict[str, str]:
    """``name: type = default  # comment`` lines of a dataclass: the comment, by field name."""
    pattern = re.compile(r"^\s+(\w+):[^#=]*=[^#]*#\s*(.+)$")
    return {m.group(1): m.group(2) for m in map(pattern.match, inspect.getsource(cls).splitlines()) if m}


def _kebab(name: str) -> str:
    return name.replace("_", "-")


def _model_config_class(config):
    from scratchformers.models import BertConfig, EncoderDecoderConfig, GPTConfig

    if config.task == "seq2seq":
        return EncoderDecoderConfig
    return BertConfig if config.model_type == "bert" else GPTConfig


def _model_keys() -> dict[str, str]:
    """Model setting -> its help line: the comment, and the default of each config class that has it."""
    from scratchformers.models import BertConfig, EncoderDecoderConfig, GPTConfig

    defaults: dict[str, list[str]] = {}
    comments: dict[str, str] = {}
    for cls in (GPTConfig, BertConfig, EncoderDecoderConfig):
        comments.update(_field_comments(cls))
        for f in dataclasses.fields(cls):
            if f.name not in ("vocab_size", "max_positions"):
                defaults.setdefault(f.name, []).append(f"{cls.__name__} {f.default!r}")
    return {key: (f"{comments[key]}; " if key in comments else "") + "default: " + ", ".join(found)
            for key, found in sorted(defaults.items())}


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
        usage="scratchformers train [--preset NAME] [--config FILE] [--resume [CHECKPOINT]] [--KEY VALUE ...]",
        help="pretrain a model (causal LM, masked LM) from a TOML/JSON config or a preset",
        description="Resolution order: preset < --config file < --key value overrides. "
        "The resolved config is written to RUN_DIR/config.json. Launch with torchrun for DDP.",
    )
    p.add_argument("--config", metavar="FILE", help="a .toml or .json file with TrainConfig fields")
    p.add_argument("--preset", choices=sorted(PRESETS), metavar="NAME",
                   help=f"a starting configuration: {', '.join(sorted(PRESETS))}")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue from RUN_DIR's latest checkpoint (or the step_N folder given); settings not "
                   "passed again come from the checkpoint, and only max_steps, the log/eval/save intervals, "
                   "keep_last, progress, plot, device, compile and cpu_backends may change")
    overrides = p.add_argument_group(
        "overrides", "any TrainConfig field (--max-steps 100; --max_steps also works); the defaults shown are "
        "TrainConfig's, a preset or --config file changes them")
    comments = {**_field_comments(TrainConfig), **_HELP}
    for field in dataclasses.fields(TrainConfig):
        if field.name != "model":
            default = ",".join(map(str, field.default)) if isinstance(field.default, tuple) else field.default
            overrides.add_argument(f"--{_kebab(field.name)}", dest=f"cfg:{field.name}", default=argparse.SUPPRESS,
                                   metavar=type(field.default).__name__.upper(),
                                   help=f"{comments.get(field.name, field.name)} (default: {default!r})".replace("%", "%%"))
    model = p.add_argument_group("model settings", "fields of the model's config (--model.num-layers 4)")
    for key, text in _model_keys().items():
        model.add_argument(f"--model.{_kebab(key)}", dest=f"cfg:model.{key}", default=argparse.SUPPRESS,
                           metavar="VALUE", help=text.replace("%", "%%"))
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
