"""``from_pretrained``: a Hugging Face folder, a ``.gguf`` file, an asset or a hub id -> one of our models.

The hub is the only layer that knows every architecture: it reads the checkpoint, picks the family
from ``config.json``'s ``model_type`` (or the GGUF ``general.architecture``) and the class from its
``architectures`` entry, then hands over to the family's own loading
(:func:`scratchformers.models.pretrained.load_pretrained`)::

    path/hub id --resolve--> folder or .gguf --read--> Checkpoint (HF config, HF tensor names)
        --model_type--> family (models/<family>/) --architectures--> class --load_pretrained--> model
"""

from __future__ import annotations

import os
from types import ModuleType

from scratchformers.checkpoints import files
from scratchformers.checkpoints.files import Checkpoint
from scratchformers.checkpoints.gguf import open_gguf
from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import CheckpointError
from scratchformers.hub.tokenizer import load_tokenizer_for
from scratchformers.models import bert, gpt, llama
from scratchformers.models.pretrained import load_pretrained, saved_class_name

# model_type -> the family package (its classes, and its name conversion as ``family.convert``)
FAMILIES: dict[str, ModuleType] = {family.convert.MODEL_TYPE: family for family in (bert, gpt, llama)}
SUPPORTED = "BERT incl. MiniLM, GPT-2, Llama-family incl. SmolLM/TinyLlama"


def family_for(hf_config: dict) -> ModuleType:
    """The family package for a checkpoint's ``config.json`` (by its ``model_type``)."""
    model_type = hf_config.get("model_type")
    if model_type not in FAMILIES:
        raise CheckpointError(
            f"config.json says model_type={model_type!r}; scratchformers loads {sorted(FAMILIES)} ({SUPPORTED})"
        )
    return FAMILIES[model_type]


def read_checkpoint(path: str | os.PathLike, *, progress: bool = False) -> Checkpoint:
    """Config and tensors (HF names) of a local folder, ``.gguf`` file, asset or cached hub id."""
    path = resolve(path)
    if not (path.is_file() and path.suffix == ".gguf"):
        return files.read_folder(path)
    gguf = open_gguf(path)
    for family in FAMILIES.values():
        if gguf.architecture in family.convert.GGUF_ARCHITECTURES:
            return family.convert.from_gguf(gguf, progress=progress)
    readable = sorted(a for f in FAMILIES.values() for a in f.convert.GGUF_ARCHITECTURES)
    raise CheckpointError(
        f"GGUF architecture {gguf.architecture!r} is not supported; scratchformers reads GGUF files of "
        f"architecture {readable} (general.architecture = 'llama': Llama, SmolLM, TinyLlama)."
    )


def class_named(family: ModuleType, name: str) -> type:
    """A family's class by our name or by its Hugging Face ``architectures`` name."""
    ours = family.convert.ARCHITECTURES.get(name, name)
    if ours not in family.convert.ARCHITECTURES.values():
        raise CheckpointError(
            f"model_class={name!r} is not a {family.convert.MODEL_TYPE} class; use one of "
            f"{sorted(set(family.convert.ARCHITECTURES) | set(family.convert.ARCHITECTURES.values()))} "
            "or pass the class itself."
        )
    return getattr(family, ours)


def from_pretrained(path: str | os.PathLike, *, model_class: type | str | None = None, **kwargs):
    """Load our model for a Hugging Face folder, a ``.gguf`` file, an asset name or a cached hub id.

    The class comes from ``config.json``'s ``architectures`` (``BertModel``, ``GPT2LMHeadModel``,
    ``LlamaForCausalLM``, ...) unless ``model_class`` (a class or its name) is given. Other keyword
    arguments (``dtype``, ``device``, ``strict``, ``allow_non_float_weights``, config overrides such
    as ``num_labels=3``) are those of :func:`~scratchformers.models.pretrained.load_pretrained`.
    """
    ckpt = read_checkpoint(path)
    family = family_for(ckpt.config)
    saved = saved_class_name(ckpt.config, family.convert)
    if isinstance(model_class, str):
        model_class = class_named(family, model_class)
    return load_pretrained(model_class or getattr(family, saved), ckpt, **kwargs)


def load_model_and_tokenizer(spec: str | os.PathLike, *, require_tokenizer: bool = False):
    """``(model, tokenizer)`` for a command-line MODEL argument: a folder, a ``.gguf`` file, an
    asset name or a cached hub id. Without ``require_tokenizer`` a checkpoint that has no tokenizer
    gives ``(model, None)`` (the doctor can still check the model)."""
    path = resolve(spec)
    model = from_pretrained(path)
    if require_tokenizer:
        return model, load_tokenizer_for(path)
    try:
        tokenizer = load_tokenizer_for(path)
    except Exception:  # noqa: BLE001 - a model without a tokenizer is still checkable
        tokenizer = None
    return model, tokenizer
