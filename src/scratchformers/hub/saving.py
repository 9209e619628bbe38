"""Saving and converting: our model -> a folder that ``transformers.AutoModel*.from_pretrained`` opens.

The folder holds ``config.json`` in Hugging Face's vocabulary (``n_embd``, ``hidden_size``, ...)
and ``model.safetensors`` with Hugging Face tensor names, so the same folder also loads back
into scratchformers, exactly. The per-model part is ``model.save_pretrained``
(:mod:`scratchformers.models.pretrained`); this module adds what needs every architecture:
converting any checkpoint (a GGUF file, a sharded or ``.bin`` folder) and the GGUF asset cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch

from scratchformers import assets
from scratchformers.checkpoints.files import CONFIG_NAME, SAFETENSORS_NAME, write_folder
from scratchformers.checkpoints.resolve import resolve
from scratchformers.hub.loading import from_pretrained, read_checkpoint
from scratchformers.hub.tokenizer import load_tokenizer_for, save_tokenizer
from scratchformers.utils import cache_root
from scratchformers.version import __version__


def save_pretrained(model, directory: str | os.PathLike, tokenizer=None) -> Path:
    """Save ``model`` (and ``tokenizer``) as a Hugging Face folder; returns the folder path."""
    directory = model.save_pretrained(directory)
    if tokenizer is not None:
        save_tokenizer(tokenizer, directory)
    return directory


# Tokenizer files copied verbatim when converting a folder (lossless, whatever the tokenizer kind).
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
)  # fmt: skip


def convert_checkpoint(source: str | os.PathLike, directory: str | os.PathLike, *, dtype: torch.dtype | None = None) -> Path:
    """A ``.gguf`` file, Hugging Face folder or hub id -> a clean Hugging Face folder.

    GGUF: dequantised, Q/K un-permuted, tokenizer rebuilt from the metadata (``tokenizer.json``).
    Folder: loaded strictly into our model and saved again (sharded/``.bin``/legacy names ->
    one ``model.safetensors``), tokenizer files copied.
    """
    source = resolve(source)
    if source.suffix == ".gguf":
        ckpt = read_checkpoint(source, progress=True)
        dtype = dtype or torch.float32
        config = {**ckpt.config, "dtype": str(dtype).removeprefix("torch."), "scratchformers_version": __version__}
        write_folder(directory, config, {k: v.to(dtype) for k, v in ckpt.state_dict.items()})
        load_tokenizer_for(source).save(directory)
        return Path(directory)
    model = from_pretrained(source, dtype=dtype)
    directory = save_pretrained(model, directory)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, directory / name)
    return directory


def cached_safetensors(name: str) -> Path:
    """A Hugging Face folder (config.json + model.safetensors + tokenizer) for a GGUF asset.

    Dequantising a GGUF file takes seconds; this converts it once into a user cache folder,
    ``scratchformers.utils.cache_root()`` (``$SCRATCHFORMERS_CACHE``, default ``~/.cache/scratchformers``), named after the file's SHA-256,
    so a changed asset gets a fresh conversion. Folder assets are returned as they are.
    """
    source = assets.asset_path(name)
    if source.suffix != ".gguf":
        return source
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    target = cache_root() / f"{name}-{digest.hexdigest()[:16]}"
    if (target / CONFIG_NAME).is_file() and (target / SAFETENSORS_NAME).is_file():
        return target
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    convert_checkpoint(source, partial)
    try:
        os.replace(partial, target)  # atomic: a concurrent process never sees a half-written folder
    except OSError:  # another process finished first; keep its copy
        shutil.rmtree(partial, ignore_errors=True)
    return target
