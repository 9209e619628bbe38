"""``pipeline(task, model=..., tokenizer=...)``: text in, transformers-shaped results out.

    gen = sf.pipeline("text-generation", model="smollm2-135m")
    gen("The capital of France is", max_new_tokens=8)   # [{"generated_text": "..."}]
    sf.pipeline("sentiment-analysis", model=folder)("great film")   # [{"label": ..., "score": ...}]
    sf.pipeline("fill-mask", model=folder)("Paris is the [MASK] of France.")   # 5 x {score, token, token_str, sequence}

Above :mod:`scratchformers.hub` (which loads the model for the task) and generation.
"""

from __future__ import annotations

import difflib

from scratchformers.errors import ConfigError
from scratchformers.pipelines.base import Pipeline
from scratchformers.pipelines.tasks import TASKS, FillMaskPipeline, TextClassificationPipeline, TextGenerationPipeline


def pipeline(task: str, model=None, tokenizer=None, *, device=None) -> Pipeline:
    """A pipeline for ``task`` (``"text-generation"``, ``"text-classification"`` /
    ``"sentiment-analysis"``, ``"fill-mask"``). ``model``: a checkpoint path, ``.gguf`` file, asset
    name or cached hub id (its tokenizer is loaded too), or a loaded model with ``tokenizer=``."""
    if task not in TASKS:
        close = difflib.get_close_matches(str(task), TASKS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown pipeline task {task!r}: {hint}scratchformers has {sorted(TASKS)}")
    if model is None:
        raise ConfigError(
            f"pipeline({task!r}) needs model=...: scratchformers downloads nothing, so pass a checkpoint "
            "folder, a .gguf file or an asset name (scratchformers assets list)"
        )
    return TASKS[task](model, tokenizer, device=device)


__all__ = ["FillMaskPipeline", "Pipeline", "TextClassificationPipeline", "TextGenerationPipeline", "pipeline"]
