"""Turn the CLI's MODEL argument (a folder, a .gguf file, an asset name, a cached hub id) into a
model and, when one is there, its tokenizer, through the checkpoint loader."""

from __future__ import annotations

from scratchformers.errors import CheckpointError


def load_model(name: str):
    """(model, tokenizer or None) via ``scratchformers.from_pretrained``."""
    try:
        from scratchformers.hub import from_pretrained
    except ImportError as err:
        raise CheckpointError(
            "scratchformers.from_pretrained is not available in this installation, so MODEL cannot be "
            "loaded; check the model in Python instead: sf.doctor.check_model(model, input_ids)"
        ) from err
    from scratchformers.hub.resolve import resolve

    path = resolve(name)  # folder, .gguf, asset name or cached hub id
    model = from_pretrained(path)
    tokenizer = None
    try:
        from scratchformers.hub import load_tokenizer_for

        tokenizer = load_tokenizer_for(path)
    except Exception:  # noqa: BLE001 - a model without a tokenizer is still checkable
        tokenizer = None
    return model.eval(), tokenizer
