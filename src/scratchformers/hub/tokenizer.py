"""The tokenizer that belongs to a checkpoint: from its folder's files or from GGUF metadata.

The tokenizers and their file formats live in :mod:`scratchformers.tokenizers`; this module only
finds the right one for a checkpoint path (reading a ``.gguf`` file's metadata with the checkpoint
reader, since the tokenizers package reads no model files) and saves one next to a model.
"""

from __future__ import annotations

import os
from pathlib import Path

from scratchformers.checkpoints.gguf import open_gguf
from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import CheckpointError
from scratchformers.tokenizers import load_tokenizer, tokenizer_from_gguf


def load_tokenizer_for(path: str | os.PathLike):
    """Our tokenizer for a checkpoint folder, ``.gguf`` file (from its metadata) or cached hub id."""
    path = Path(resolve(path))
    if path.is_file() and path.suffix == ".gguf":
        return tokenizer_from_gguf(open_gguf(path).metadata)
    return load_tokenizer(path)


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> Path:
    """Write ``tokenizer`` next to a saved model (its ``save`` writes ``tokenizer.json``)."""
    if not hasattr(tokenizer, "save"):
        raise CheckpointError(
            f"save_pretrained(tokenizer=...) needs a scratchformers tokenizer with .save(dir); got "
            f"{type(tokenizer).__name__}"
        )
    return tokenizer.save(directory)
