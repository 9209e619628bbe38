"""``GPT.from_pretrained(path)`` and ``model.save_pretrained(dir)`` for every class with a Hugging Face
counterpart.

Each family keeps its name conversion beside the model (``models/<family>/convert.py``) and names
it in the class (``conversion = convert``). The pipeline is the same for every family::

    path/asset/hub id --resolve--> folder or .gguf --read--> Checkpoint (HF config, HF tensor names)
        --conversion--> (our dataclass config, our tensor names) --size check--> build (no random
        init) --strict load--> model

Names, shapes and dtypes are compared with the tensors *before* anything is allocated (on a model
built on the ``meta`` device), so a ``config.json`` that says 10^12 tokens or 100000 layers fails
at once with the usual report instead of allocating them. Choosing the family from a checkpoint's
``model_type`` (``scratchformers.from_pretrained(path)``) is the hub's job, the only layer that
knows every architecture; the models only know their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import warnings
from pathlib import Path
from types import ModuleType

import torch

from scratchformers.checkpoints import files
from scratchformers.checkpoints.files import Checkpoint
from scratchformers.checkpoints.gguf import open_gguf
from scratchformers.checkpoints.resolve import resolve
from scratchformers.checkpoints.state_dict import LoadReport, check_state, load_into, tied_aliases
from scratchformers.errors import CheckpointError, ConfigError
from scratchformers.version import __version__


class PretrainedMixin:
    """``from_pretrained`` / ``save_pretrained``; a class with a Hugging Face counterpart sets ``conversion``."""

    conversion: ModuleType | None = None  # the family's convert module (names and config <-> HF)

    def save_pretrained(self, directory: str | os.PathLike, tokenizer=None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (+ tokenizer) that transformers can load."""
        directory = files.write_folder(directory, hf_config(self), hf_state_dict(self))
        if tokenizer is not None:
            if not hasattr(tokenizer, "save"):
                raise CheckpointError(
                    f"save_pretrained(tokenizer=...) needs a scratchformers tokenizer with .save(dir); got "
                    f"{type(tokenizer).__name__}"
                )
            tokenizer.save(directory)
        return directory

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs):
        """Load a Hugging Face folder, ``.gguf`` file, asset name or cached hub id into this class.

        Keyword arguments are those of :func:`load_pretrained` (``dtype``, ``device``, ``strict``,
        ``allow_non_float_weights``, config overrides). The checkpoint is loaded into ``cls`` (a
        subclass of a known class works); to let the checkpoint choose the class, call
        ``scratchformers.from_pretrained(path)``.
        """
        base = known_class(cls)
        if base is None:
            raise CheckpointError(
                f"{cls.__name__} has no Hugging Face counterpart to load into. Call it on a concrete class "
                "(GPT, LlamaForCausalLM, BertModel, ...) or use scratchformers.from_pretrained(path), which "
                "picks the class from the checkpoint's config.json."
            )
        return load_pretrained(cls, read_checkpoint(path, base.conversion), **kwargs)


def known_class(model_class: type) -> type | None:
    """The class of ``model_class``'s MRO that declares a conversion (user subclasses inherit it)."""
    return next((c for c in model_class.__mro__ if vars(c).get("conversion") is not None), None)


def read_checkpoint(path: str | os.PathLike, conversion: ModuleType, *, progress: bool = False) -> Checkpoint:
    """A folder, ``.gguf`` file, asset name or cached hub id in Hugging Face form, read for ``conversion``."""
    path = resolve(path)
    if path.is_file() and path.suffix == ".gguf":
        gguf = open_gguf(path)
        if gguf.architecture not in conversion.GGUF_ARCHITECTURES:
            raise CheckpointError(
                f"{path} is a GGUF file of architecture {gguf.architecture!r}; the {conversion.MODEL_TYPE} "
                f"classes read {list(conversion.GGUF_ARCHITECTURES) or 'no'} GGUF architectures."
            )
        return conversion.from_gguf(gguf, progress=progress)
    return files.read_folder(path)


def saved_class_name(hf_config: dict, conversion: ModuleType) -> str:
    """The name of our class for the checkpoint's ``architectures`` entry (the first we know)."""
    known = conversion.ARCHITECTURES
    declared = hf_config.get("architectures")
    for name in declared or []:
        if name in known:
            return known[name]
    if declared:
        raise CheckpointError(
            f"config.json architectures={declared} has no scratchformers counterpart; known for "
            f"{conversion.MODEL_TYPE}: {sorted(known)}. Pass model_class= to choose one."
        )
    return next(iter(known.values()))  # no architectures listed: the first (main) class


def apply_overrides(config, overrides: dict):
    if not overrides:
        return config
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown config override(s) {unknown} for {type(config).__name__}; valid fields: {sorted(fields)}"
        )
    return dataclasses.replace(config, **overrides)


_LAYER = re.compile(r"(?:^|\.)blocks\.(\d+)\.")


def check_layer_count(config, state: dict[str, torch.Tensor], *, source: str) -> None:
    """More layers in the config than ``blocks.{i}`` in the checkpoint: refused before building.

    Everything else is compared on a model built on the ``meta`` device (no memory), but building
    even that takes time per layer: a config.json saying 100000 layers must fail at once.
    """
    layers = {int(m.group(1)) for name in state if (m := _LAYER.search(name))}
    num_layers = getattr(config, "num_layers", None)
    if layers and num_layers is not None and num_layers > len(layers):
        raise CheckpointError(
            f"config num_layers={num_layers} but the checkpoint {source} holds {len(layers)} layers (blocks "
            f"{min(layers)}..{max(layers)}); nothing was built. Fix config.json or the num_layers override."
        )


def refuse_growth(report: LoadReport, source: str) -> None:
    """strict=False may load a model smaller than its tensors, never larger (uninitialised memory)."""
    grown = [(name, e, f) for name, e, f in report.mismatched if math.prod(e) > math.prod(f)]
    if grown:
        table = LoadReport(mismatched=grown).format(f"the config from {source}")
        raise CheckpointError(
            table + "\nThe config asks for larger tensors than the checkpoint holds (nothing was built); "
            "fix config.json or the overrides to the checkpoint's sizes."
        )


# torch.nn.init functions that modules call while being built; skip_init makes them no-ops.
_INIT_FUNCTIONS = (
    "normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
    "xavier_uniform_", "xavier_normal_", "zeros_", "ones_", "constant_", "orthogonal_",
)  # fmt: skip


@contextlib.contextmanager
def skip_init():
    """Build a model without random initialisation (parameters hold uninitialised memory).

    Initialising 135M parameters costs seconds and every value is overwritten by the checkpoint
    right after; ``transformers`` skips it the same way. Anything the checkpoint does not provide
    is initialised properly afterwards.
    """
    saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}
    try:
        for name in _INIT_FUNCTIONS:
            setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def load_pretrained(
    model_class: type,
    ckpt: Checkpoint,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    strict: bool = True,
    allow_non_float_weights: bool = False,
    **config_overrides,
):
    """Build ``model_class`` from a checkpoint in Hugging Face form and load its tensors strictly.

    A different head than the checkpoint's (``BertForSequenceClassification`` from a ``BertModel``
    checkpoint) starts newly initialised, with a warning. ``config_overrides`` replace config
    fields (``dropout=0.1``, ``num_labels=3``). Integer or boolean tensors where the model holds
    floats are refused unless ``allow_non_float_weights=True``. Weights are float32 unless
    ``dtype`` says otherwise; the model is in eval mode.
    """
    base = known_class(model_class)
    if base is None:
        raise CheckpointError(f"{model_class.__name__} has no Hugging Face counterpart to load a checkpoint into")
    conversion = base.conversion
    model_type = ckpt.config.get("model_type")
    if model_type != conversion.MODEL_TYPE:
        raise CheckpointError(
            f"{ckpt.path} is a {model_type} checkpoint; it cannot be loaded into {model_class.__name__} "
            f"(a {conversion.MODEL_TYPE} class). scratchformers.from_pretrained(path) picks the class from "
            "config.json."
        )
    saved_name = saved_class_name(ckpt.config, conversion)
    config = apply_overrides(conversion.config_from_hf(ckpt.config, base), config_overrides)
    state = conversion.state_from_hf(ckpt.state_dict, config, base)
    source = str(ckpt.path)
    check_layer_count(config, state, source=source)
    # Compare every name, shape and dtype on a model without memory before allocating the real one.
    with torch.device("meta"), skip_init():
        shapes = model_class(config)
    state = _drop_foreign_heads(shapes, state, conversion)
    new_heads = _new_heads(shapes, state, conversion, saved_name) if base.__name__ != saved_name else []
    options = dict(strict=strict, source=source, allow_missing=new_heads, allow_non_float_weights=allow_non_float_weights)
    refuse_growth(check_state(shapes, state, **options)[0], source)
    with skip_init():  # every tensor is about to be overwritten; random init would be wasted time
        model = model_class(config)
    report = load_into(model, state, **options)
    not_loaded = {name for name, _, _ in report.missing + report.mismatched} | set(new_heads)
    if not_loaded:  # new heads or strict=False: those tensors get a proper random init
        fresh = model_class(config).state_dict()
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                if name in not_loaded:
                    tensor.copy_(fresh[name])
    model.to(device=device, dtype=dtype)
    return model.eval()


def _drop_foreign_heads(model, state: dict, conversion: ModuleType) -> dict:
    """Drop head tensors the model has no place for (an NSP head, an LM head on a bare body)."""
    own = model.state_dict()
    return {k: v for k, v in state.items() if k in own or not k.startswith(conversion.HEAD_PREFIXES)}


def _new_heads(model, state: dict, conversion: ModuleType, saved_name: str) -> list[str]:
    """Loading into another head than the checkpoint's: ours starts newly initialised (warned)."""
    aliases = tied_aliases(model)
    fresh = [k for k in model.state_dict() if k.startswith(conversion.HEAD_PREFIXES) and k not in state and k not in aliases]
    if fresh:
        warnings.warn(
            f"{type(model).__name__} loaded from a {saved_name} checkpoint: {', '.join(fresh)} "
            "are newly initialised; train them before use.",
            stacklevel=4,
        )
    return fresh


def hf_config(model) -> dict:
    """The ``config.json`` contents for one of our models."""
    base = known_class(type(model))
    if base is None:
        raise CheckpointError(f"{type(model).__name__} has no Hugging Face counterpart to save as")
    return {
        "architectures": [base.conversion.hf_architecture(base)],
        **base.conversion.config_to_hf(model.config, base),
        "dtype": str(model.dtype).removeprefix("torch."),
        "scratchformers_version": __version__,
    }


def hf_state_dict(model) -> dict[str, torch.Tensor]:
    """The model's tensors under Hugging Face names (tied copies left out)."""
    base = known_class(type(model))
    if base is None:
        raise CheckpointError(f"{type(model).__name__} has no Hugging Face counterpart to save as")
    aliases = tied_aliases(model)
    state = {k: v for k, v in model.state_dict().items() if k not in aliases}
    return base.conversion.state_to_hf(state, model.config, base)
