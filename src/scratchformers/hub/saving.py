"""``save_pretrained``: our model -> a folder that ``transformers.AutoModel*.from_pretrained`` opens.

The folder holds ``config.json`` in Hugging Face's vocabulary (``n_embd``, ``hidden_size``, ...)
and ``model.safetensors`` with Hugging Face tensor names, so the same folder also loads back
into scratchformers, exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from scratchformers import __version__
from scratchformers.checkpoints.files import CONFIG_NAME, SAFETENSORS_NAME
from scratchformers.checkpoints.state_dict import tied_aliases
from scratchformers.errors import CheckpointError


def write_folder(directory: str | os.PathLike, hf_config: dict, state: dict[str, torch.Tensor]) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (a Hugging Face checkpoint folder)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    if directory.is_file():
        raise CheckpointError(f"{directory} is a file; save_pretrained needs a folder path")
    directory.mkdir(parents=True, exist_ok=True)
    # safetensors refuses tensors that share memory (views of one storage): copy those only.
    tensors, storages = {}, set()
    for name, t in state.items():
        t = t.detach().to("cpu").contiguous()
        key = t.untyped_storage().data_ptr()
        tensors[name] = t.clone() if key in storages else t
        storages.add(key)
    save_file(tensors, str(directory / SAFETENSORS_NAME), metadata={"format": "pt"})
    (directory / CONFIG_NAME).write_text(json.dumps(hf_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return directory


def hf_config_for(model) -> dict:
    """The ``config.json`` contents for one of our models."""
    from scratchformers.hub.loading import converter_for_model

    converter, base = converter_for_model(type(model))
    return {
        "architectures": [converter.hf_architecture(base)],
        **converter.config_to_hf(model.config, base),
        "dtype": str(model.dtype).removeprefix("torch."),
        "scratchformers_version": __version__,
    }


def hf_state_dict(model) -> dict[str, torch.Tensor]:
    """The model's tensors under Hugging Face names (tied copies left out)."""
    from scratchformers.hub.loading import converter_for_model

    aliases = tied_aliases(model)
    state = {k: v for k, v in model.state_dict().items() if k not in aliases}
    converter, base = converter_for_model(type(model))
    return converter.state_to_hf(state, model.config, base)


def save_pretrained(model, directory: str | os.PathLike, tokenizer=None) -> Path:
    """Save ``model`` (and ``tokenizer``) as a Hugging Face folder; returns the folder path."""
    directory = write_folder(directory, hf_config_for(model), hf_state_dict(model))
    if tokenizer is not None:
        from scratchformers.hub.tokenizer import save_tokenizer

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
    import shutil

    from scratchformers.checkpoints.resolve import resolve
    from scratchformers.hub.loading import from_pretrained

    source = resolve(source)
    if source.suffix == ".gguf":
        from scratchformers.checkpoints.gguf import read_gguf
        from scratchformers.hub.tokenizer import load_tokenizer_for

        ckpt = read_gguf(source, progress=True)
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
