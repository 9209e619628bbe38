"""``model.save_pretrained(dir)`` and ``GPT.from_pretrained(path)`` for every model class.

``scratchformers.models.base.Model`` inherits this mixin. It imports nothing heavy at module
level (the hub imports the models, so the models must not import the hub eagerly).
"""

from __future__ import annotations


class PretrainedMixin:
    def save_pretrained(self, directory, tokenizer=None):
        """Write ``config.json`` + ``model.safetensors`` (+ tokenizer) that transformers can load."""
        from scratchformers.hub.saving import save_pretrained

        return save_pretrained(self, directory, tokenizer=tokenizer)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """Load a Hugging Face folder, ``.gguf`` file or cached hub id into this class.

        Keyword arguments are those of :func:`scratchformers.hub.from_pretrained` (``dtype``,
        ``device``, ``strict``, config overrides). Called on a concrete class (``BertModel``), the
        checkpoint is loaded into that class; called on ``Model``, the checkpoint's class is used.
        """
        from scratchformers.hub.loading import from_pretrained

        concrete = getattr(cls, "config_class", None) is not None
        return from_pretrained(path, model_class=cls if concrete else None, **kwargs)
