"""The layer that knows every architecture: checkpoints in and out, whichever family they hold.

``from_pretrained(path)`` picks the family and class from the checkpoint (``model_type``,
``architectures``) and returns our model; ``save_pretrained(model, dir)`` writes a folder that
``transformers`` opens; ``convert_checkpoint`` turns any source (GGUF, sharded, ``.bin``) into a
clean folder. The model-agnostic file handling lives in :mod:`scratchformers.checkpoints`, each
family's name conversion beside its model (``models/<family>/convert.py``).
"""

from scratchformers.checkpoints.resolve import resolve
from scratchformers.checkpoints.state_dict import LoadReport, load_into
from scratchformers.hub.auto import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)
from scratchformers.hub.loading import from_pretrained, load_model_and_tokenizer, read_checkpoint
from scratchformers.hub.saving import cached_safetensors, convert_checkpoint, save_pretrained
from scratchformers.hub.tokenizer import load_tokenizer_for

__all__ = [
    "AutoModel",
    "AutoModelForCausalLM",
    "AutoModelForMaskedLM",
    "AutoModelForSequenceClassification",
    "AutoTokenizer",
    "LoadReport",
    "cached_safetensors",
    "convert_checkpoint",
    "from_pretrained",
    "load_into",
    "load_model_and_tokenizer",
    "load_tokenizer_for",
    "read_checkpoint",
    "resolve",
    "save_pretrained",
]
