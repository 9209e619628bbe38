"""``from_pretrained``: a Hugging Face folder, a ``.gguf`` file or a hub id -> one of our models.

The pipeline is the same for every source::

    path/hub id --resolve--> folder or .gguf --read--> (HF config dict, HF-named tensors)
        --convert_<arch>--> (our dataclass config, our tensor names) --strict load--> model

GGUF files are turned into the Hugging Face form first (:mod:`scratchformers.checkpoints.gguf`), so
every architecture has exactly one converter.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from scratchformers.checkpoints import files
from scratchformers.checkpoints.resolve import resolve
from scratchformers.checkpoints.state_dict import load_into, tied_aliases
from scratchformers.errors import CheckpointError, ConfigError
from scratchformers.models.bert import convert as convert_bert
from scratchformers.models.gpt import convert as convert_gpt2
from scratchformers.models.llama import convert as convert_llama

CONVERTERS: dict[str, ModuleType] = {m.MODEL_TYPE: m for m in (convert_bert, convert_gpt2, convert_llama)}


@dataclass
class HFCheckpoint:
    """A checkpoint in Hugging Face form, wherever it came from."""

    path: Path  # the folder or .gguf file
    config: dict  # config.json contents
    state_dict: dict[str, torch.Tensor]  # HF tensor names


def read_checkpoint(path: str | os.PathLike) -> HFCheckpoint:
    """Config and tensors (HF names) of a local folder, ``.gguf`` file or cached hub id."""
    path = resolve(path)
    if path.is_file() and path.suffix == ".gguf":
        from scratchformers.checkpoints.gguf import read_gguf

        gguf = read_gguf(path)
        return HFCheckpoint(path, gguf.config, gguf.state_dict)
    if path.is_file():
        raise CheckpointError(
            f"{path} is a file; pass the folder that contains it (with config.json), or a .gguf file"
        )
    return HFCheckpoint(path, files.read_config(path), files.read_weights(path))


def converter_for(hf_config: dict) -> ModuleType:
    model_type = hf_config.get("model_type")
    if model_type not in CONVERTERS:
        raise CheckpointError(
            f"config.json says model_type={model_type!r}; scratchformers loads {sorted(CONVERTERS)} "
            "(BERT incl. MiniLM, GPT-2, Llama-family incl. SmolLM/TinyLlama)"
        )
    return CONVERTERS[model_type]


def known_class(model_class: type, converter: ModuleType) -> type | None:
    """The class of ``converter`` that ``model_class`` is or derives from (user subclasses work)."""
    known = set(converter.architectures().values())
    return next((cls for cls in model_class.__mro__ if cls in known), None)


def converter_for_model(model_class: type) -> tuple[ModuleType, type]:
    """The converter for one of our model classes, and the known class it is (or derives from)."""
    for converter in CONVERTERS.values():
        base = known_class(model_class, converter)
        if base is not None:
            return converter, base
    raise CheckpointError(f"{model_class.__name__} has no Hugging Face counterpart to save as")


def checkpoint_class(hf_config: dict, converter: ModuleType) -> type:
    """Our class for the checkpoint's ``architectures`` entry (the first we know)."""
    known = converter.architectures()
    for name in hf_config.get("architectures") or []:
        if name in known:
            return known[name]
    declared = hf_config.get("architectures")
    if declared:
        raise CheckpointError(
            f"config.json architectures={declared} has no scratchformers counterpart; known for "
            f"{converter.MODEL_TYPE}: {sorted(known)}. Pass model_class= to choose one."
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


def from_pretrained(
    path: str | os.PathLike,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    strict: bool = True,
    model_class: type | str | None = None,
    **config_overrides,
):
    """Load our model for a Hugging Face folder, a ``.gguf`` file or a cached hub id.

    The class comes from ``config.json``'s ``architectures`` (``BertModel``, ``GPT2LMHeadModel``,
    ``LlamaForCausalLM``, ...) unless ``model_class`` (a class or its name) is given; a different head than the
    checkpoint's (e.g. ``BertForSequenceClassification`` from a ``BertModel`` checkpoint) starts
    newly initialised, with a warning. ``config_overrides`` replace config fields (``dropout=0.1``,
    ``num_labels=3``). Weights are float32 unless ``dtype`` says otherwise; the model is in eval mode.
    """
    ckpt = read_checkpoint(path)
    converter = converter_for(ckpt.config)
    saved_class = checkpoint_class(ckpt.config, converter)
    if isinstance(model_class, str):  # a class name: ours or the Hugging Face architecture name
        by_name = converter.architectures()
        if model_class not in by_name:
            raise CheckpointError(
                f"model_class={model_class!r} is not a {converter.MODEL_TYPE} class; use one of {sorted(by_name)} "
                "or pass the class itself."
            )
        model_class = by_name[model_class]
    target_class = model_class or saved_class
    base = known_class(target_class, converter)
    if base is None:
        raise CheckpointError(
            f"{ckpt.path} is a {converter.MODEL_TYPE} checkpoint; it cannot be loaded into "
            f"{target_class.__name__}. Use one of {sorted(c.__name__ for c in converter.architectures().values())}."
        )
    config = apply_overrides(converter.config_from_hf(ckpt.config, base), config_overrides)
    with skip_init():  # every tensor is about to be overwritten; random init would be wasted time
        model = target_class(config)
    state = converter.state_from_hf(ckpt.state_dict, config, base)
    state = _drop_foreign_heads(model, state, converter)
    new_heads = _new_heads(model, state, converter, saved_class) if base is not saved_class else []
    report = load_into(model, state, strict=strict, source=str(ckpt.path), allow_missing=new_heads)
    not_loaded = {name for name, _, _ in report.missing + report.mismatched} | set(new_heads)
    if not_loaded:  # new heads or strict=False: those tensors get a proper random init
        fresh = target_class(config).state_dict()
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                if name in not_loaded:
                    tensor.copy_(fresh[name])
    model.to(device=device, dtype=dtype)
    return model.eval()


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


def _drop_foreign_heads(model, state: dict, converter: ModuleType) -> dict:
    """Drop head tensors the model has no place for (an NSP head, an LM head on a bare body)."""
    own = model.state_dict()
    return {k: v for k, v in state.items() if k in own or not k.startswith(converter.HEAD_PREFIXES)}


def _new_heads(model, state: dict, converter: ModuleType, saved_class: type) -> list[str]:
    """Loading into another head than the checkpoint's: ours starts newly initialised (warned)."""
    aliases = tied_aliases(model)
    fresh = [k for k in model.state_dict() if k.startswith(converter.HEAD_PREFIXES) and k not in state and k not in aliases]
    if fresh:
        warnings.warn(
            f"{type(model).__name__} loaded from a {saved_class.__name__} checkpoint: {', '.join(fresh)} "
            "are newly initialised; train them before use.",
            stacklevel=3,
        )
    return fresh


def load_model_and_tokenizer(spec: str | os.PathLike, *, require_tokenizer: bool = False):
    """``(model, tokenizer)`` for a command-line MODEL argument: a folder, a ``.gguf`` file, an
    asset name or a cached hub id. Without ``require_tokenizer`` a checkpoint that has no tokenizer
    gives ``(model, None)`` (the doctor can still check the model)."""
    from scratchformers.hub.tokenizer import load_tokenizer_for

    path = resolve(spec)
    model = from_pretrained(path)
    if require_tokenizer:
        return model, load_tokenizer_for(path)
    try:
        tokenizer = load_tokenizer_for(path)
    except Exception:  # noqa: BLE001 - a model without a tokenizer is still checkable
        tokenizer = None
    return model, tokenizer
