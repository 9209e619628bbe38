"""Checkpoints in and out: Hugging Face folders, safetensors, ``pytorch_model.bin``, GGUF, hub ids.

``from_pretrained(path)`` returns our model for a checkpoint; ``save_pretrained(model, dir)``
writes a folder that ``transformers`` opens. One ``convert_<arch>`` module per architecture maps
configs and tensor names; :mod:`~scratchformers.checkpoints.gguf` turns GGUF files into the same form.
"""

from scratchformers.hub.loading import from_pretrained, load_model_and_tokenizer, read_checkpoint
from scratchformers.hub.saving import save_pretrained
from scratchformers.checkpoints.state_dict import LoadReport, load_into
from scratchformers.hub.tokenizer import load_tokenizer_for

__all__ = ["LoadReport", "from_pretrained", "load_into", "load_model_and_tokenizer", "load_tokenizer_for", "read_checkpoint", "save_pretrained"]
