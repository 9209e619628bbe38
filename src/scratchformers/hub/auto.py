"""``AutoModel`` / ``AutoModelFor*`` / ``AutoTokenizer``: one ``from_pretrained`` per job, whatever the checkpoint.

Like transformers' auto classes, the *task* picks the head and the checkpoint picks the family::

    path (folder | .gguf | asset name | cached hub id)
      --resolve--> read the checkpoint: config.json's model_type (GGUF: general.architecture)
      --family--> TASK_CLASSES[model_type][task] --load_pretrained--> our model

``AutoModel`` gives the family's base model (no head), ``AutoModelForCausalLM`` the language
model, ``AutoModelForMaskedLM`` / ``AutoModelForSequenceClassification`` the BERT heads. A head
the checkpoint does not hold starts newly initialised, with a warning (as in transformers). A
family without a class for the task is a one-line error listing what the checkpoint can load as.
"""

from __future__ import annotations

import os

from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import CheckpointError
from scratchformers.hub.loading import family_for, read_checkpoint
from scratchformers.hub.tokenizer import load_tokenizer_for
from scratchformers.models.pretrained import load_pretrained

# model_type -> task -> our class name in the family package. GPT-2 has one class (GPT, with its
# LM head): it is also what AutoModel returns for a GPT-2 checkpoint.
TASK_CLASSES: dict[str, dict[str, str]] = {
    "bert": {
        "base": "BertModel",
        "masked-lm": "BertForMaskedLM",
        "sequence-classification": "BertForSequenceClassification",
    },
    "gpt2": {"base": "GPT", "causal-lm": "GPT"},
    "llama": {"base": "LlamaModel", "causal-lm": "LlamaForCausalLM"},
}


def load_for_task(path: str | os.PathLike, task: str, **kwargs):
    """Our model for ``task`` from any checkpoint; ``kwargs`` as :func:`~scratchformers.models.pretrained.load_pretrained`."""
    ckpt = read_checkpoint(path)
    family = family_for(ckpt.config)
    model_type = ckpt.config["model_type"]
    name = TASK_CLASSES.get(model_type, {}).get(task)
    if name is None:
        tasks = sorted(TASK_CLASSES.get(model_type, {}))
        raise CheckpointError(
            f"a {model_type} checkpoint has no {task} model in scratchformers; it loads as {tasks} "
            f"(e.g. AutoModel{'' if 'base' in tasks else 'ForCausalLM'}.from_pretrained)"
        )
    model = load_pretrained(getattr(family, name), ckpt, **kwargs)
    labels = ckpt.config.get("id2label")
    if task == "sequence-classification":
        # The label names are checkpoint metadata our config does not keep: pipelines read them here.
        count = model.config.num_labels
        model.id2label = {int(k): v for k, v in labels.items()} if labels and len(labels) == count else {i: f"LABEL_{i}" for i in range(count)}
    return model


class _AutoModel:
    task = "base"

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is not instantiated: use {type(self).__name__}.from_pretrained(path)")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs):
        """Our model for ``path`` (a folder, ``.gguf`` file, asset name or cached hub id).
        Keywords: ``dtype``, ``device``, ``strict``, config overrides such as ``num_labels=3``."""
        return load_for_task(path, cls.task, **kwargs)


class AutoModel(_AutoModel):
    """The family's base model: ``BertModel``, ``LlamaModel``; GPT-2: ``GPT`` (our only GPT-2 class)."""

    task = "base"


class AutoModelForCausalLM(_AutoModel):
    """``GPT`` or ``LlamaForCausalLM`` (incl. SmolLM2 / TinyLlama GGUF files)."""

    task = "causal-lm"


class AutoModelForMaskedLM(_AutoModel):
    """``BertForMaskedLM``."""

    task = "masked-lm"


class AutoModelForSequenceClassification(_AutoModel):
    """``BertForSequenceClassification``, with the checkpoint's label names as ``model.id2label``."""

    task = "sequence-classification"


class AutoTokenizer:
    """Our tokenizer for a checkpoint: the files decide (``tokenizer.json``: byte-level BPE or
    WordPiece, ``vocab.json`` + ``merges.txt``, ``vocab.txt``, GGUF metadata, ``.tiktoken``)."""

    def __init__(self, *args, **kwargs):
        raise TypeError("AutoTokenizer is not instantiated: use AutoTokenizer.from_pretrained(path)")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, *, padding_side: str | None = None):
        tokenizer = load_tokenizer_for(resolve(path))
        if padding_side is not None:
            tokenizer.padding_side = padding_side
        return tokenizer
