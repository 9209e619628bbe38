"""What every pipeline shares: loading the model and tokenizer for a task, and HF's input rules.

A pipeline takes one input or a list of them; one input gives that input's result, a list gives
a list of results (as in transformers).
"""

from __future__ import annotations

import difflib
import inspect
import os

import torch

from scratchformers.errors import ConfigError
from scratchformers.hub.auto import load_for_task
from scratchformers.hub.tokenizer import load_tokenizer_for


class Pipeline:
    task = ""
    model_task = ""  # the Auto task the model is loaded for

    def __init__(self, model, tokenizer=None, *, device: str | torch.device | None = None):
        if isinstance(model, (str, os.PathLike)):
            path = model
            model = load_for_task(path, self.model_task)
            tokenizer = load_tokenizer_for(path) if tokenizer is None else tokenizer
        if isinstance(tokenizer, (str, os.PathLike)):
            tokenizer = load_tokenizer_for(tokenizer)
        if tokenizer is None:
            raise ConfigError(
                f"pipeline({self.task!r}) got a model object but no tokenizer; pass tokenizer=... "
                "(a tokenizer or the checkpoint path)"
            )
        self.model = model.to(device) if device is not None else model
        self.model.eval()
        self.tokenizer = tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def ids(self, text: str) -> torch.Tensor:
        """(1, T) token ids of one text, special tokens included, on the model's device."""
        return torch.tensor([self.tokenizer.encode(text)], dtype=torch.long, device=self.device)

    def check_options(self, kwargs: dict) -> None:
        """An unknown keyword (where ``run`` takes a fixed set) is a one-line error with a suggestion."""
        params = inspect.signature(self.run).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return  # e.g. text-generation: generate checks its own options
        names = [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "text"]
        for key in kwargs:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(f"pipeline({self.task!r}) has no option {key!r}: {hint}its options are {names}")

    def __call__(self, inputs, **kwargs):
        self.check_options(kwargs)
        if isinstance(inputs, str):
            return self.run(inputs, **kwargs)
        if isinstance(inputs, (list, tuple)) and all(isinstance(x, str) for x in inputs):
            return [self.run(x, **kwargs) for x in inputs]
        raise ConfigError(f"pipeline({self.task!r}) takes a string or a list of strings, got {type(inputs).__name__}")

    def run(self, text: str, **kwargs):
        raise NotImplementedError
