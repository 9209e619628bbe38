"""Get attention weights out of a model, and bring them to one layout: (layers, heads, Tq, Tk).

- scratchformers models: ``model(ids, need_weights=True).attentions``;
- Hugging Face models: ``output_attentions=True`` (switching to the eager kernel for the call,
  since the fused SDPA kernel does not return weights);
- any other ``nn.Module``: the softmax outputs recorded by the op tracer of scratchformers.analysis.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from scratchformers.analysis import AttentionTrace
from scratchformers.errors import ShapeError, shape_str


def as_layers(weights, batch: int = 0) -> np.ndarray:
    """Per-layer tuple of (B, H, Tq, Tk), or a tensor (Tq, Tk) / (H, Tq, Tk) / (L, H, Tq, Tk) /
    (L, B, H, Tq, Tk) -> float32 array (L, H, Tq, Tk) for batch element ``batch``."""
    if isinstance(weights, (list, tuple)):
        layers = [w for w in weights if w is not None]
        if not layers:
            raise ShapeError("no attention weights: every layer returned None (was need_weights/output_attentions set?)")
        arr = [torch.as_tensor(w).detach().float().cpu() for w in layers]
        arr = [w[batch] if w.dim() == 4 else w for w in arr]  # (B, H, T, T) -> (H, T, T)
        return torch.stack(arr).numpy()
    w = torch.as_tensor(weights).detach().float().cpu()
    if w.dim() == 2:
        w = w[None, None]
    elif w.dim() == 3:
        w = w[None]
    elif w.dim() == 5:
        w = w[:, batch]
    elif w.dim() != 4:
        raise ShapeError(f"attention weights must have 2 to 5 dims, got {shape_str(w.shape)}")
    return w.numpy()


def _accepts(model: nn.Module, name: str) -> bool:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def collect_attention(model: nn.Module, input_ids: torch.Tensor, **forward_kwargs) -> tuple[torch.Tensor, ...]:
    """Attention weights of every layer, each (B, H, Tq, Tk), from one forward pass (no grad)."""
    with torch.no_grad():
        if hasattr(model, "set_attn_implementation") and hasattr(getattr(model, "config", None), "_attn_implementation"):
            previous = model.config._attn_implementation
            model.set_attn_implementation("eager")  # SDPA does not return the weights
            try:
                out = model(input_ids, output_attentions=True, **forward_kwargs)
            finally:
                model.set_attn_implementation(previous)
            return tuple(out.attentions)
        if _accepts(model, "need_weights"):
            out = model(input_ids, need_weights=True, **forward_kwargs)
            attentions = getattr(out, "attentions", None)
            if attentions:
                return tuple(attentions)
        with AttentionTrace(model) as trace:
            model(input_ids, **forward_kwargs)
        found = [s.weights for s in trace.sites if s.kind == "softmax" and s.weights is not None and s.weights.dim() == 4]
        if not found:
            raise ShapeError(
                f"found no attention weights in {type(model).__name__}: it neither returns them "
                "(need_weights / output_attentions) nor computes a softmax over (B, H, Tq, Tk) scores"
            )
        return tuple(found)
