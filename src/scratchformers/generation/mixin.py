"""``model.generate(...)``: the thin method the decoder models inherit."""

from __future__ import annotations

import torch


class GenerationMixin:
    """Adds ``generate`` to a model class; all arguments are those of
    :func:`scratchformers.generation.generate`."""

    def generate(self, input_ids: torch.Tensor, **kwargs) -> torch.Tensor:
        from scratchformers.generation.generate import generate

        return generate(self, input_ids, **kwargs)
