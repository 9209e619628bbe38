"""The tokenizer that belongs to a checkpoint: from its folder's files or from GGUF metadata.

The tokenizers themselves live in :mod:`scratchformers.tokenizers`; this module only finds the
right one for a checkpoint path and saves one next to a model.
"""

from __future__ import annotations

import os
from pathlib import Path

from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import CheckpointError


def load_tokenizer_for(path: str | os.PathLike):
    """Our tokenizer for a checkpoint folder, ``.gguf`` file (from its metadata) or cached hub id."""
    from scratchformers.tokenizers import load_tokenizer

    return load_tokenizer(resolve(path))


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> Path:
    """Write ``tokenizer`` next to a saved model (its ``save`` writes ``tokenizer.json``)."""
    if not hasattr(tokenizer, "save"):
        raise CheckpointError(
            f"save_pretrained(tokenizer=...) needs a scratchformers tokenizer with .save(dir); got "
            f"{type(tokenizer).__name__}"
        )
    return tokenizer.save(directory)
