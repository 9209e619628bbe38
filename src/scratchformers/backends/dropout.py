"""Dropout with a cheaper mask: ``keep = U(0, 1) >= p`` from ``torch.rand_like``, kept as bool.

    y = x * keep / (1 - p)        keep_i ~ Bernoulli(1 - p), independent        dL/dx = g * keep / (1 - p)

The same distribution as ``F.dropout`` (a uniform draw compared to p is a Bernoulli draw), from a
different stream of the same global generator (seeded runs stay reproducible, but draw other masks
than plain PyTorch). On the CPU, ``bernoulli_`` is the slowest elementwise op of a BERT train step
(1.1 of 12.3 s single-threaded under AVX2, both ours and transformers'); ``rand_like`` + a compare
costs about half of it, and the saved mask is 1 byte per element instead of 4.

- :class:`FastDropout`: ``nn.Dropout`` with this mask (``optimize`` swaps exact ``nn.Dropout``).
- :func:`attention_with_dropout`: softmax(q k^T / sqrt(d)) with this dropout on the weights, then
  @ v: the unmasked (or causal, Tq == Tk) training case, where ``F.scaled_dot_product_attention``
  would fall back to its math path with ``bernoulli_`` anyway.

Only float32/bfloat16 CPU tensors outside tracing take this path; everything else runs the plain op.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.nn.masks import causal_mask


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        keep = torch.rand_like(x) >= p  # bool, P(keep) = 1 - p
        ctx.save_for_backward(keep)
        ctx.scale = 1.0 / (1.0 - p)
        return x.mul(keep).mul_(ctx.scale)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None


def applies(x: torch.Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.bfloat16)
        and not torch.compiler.is_compiling()
        and not torch._C._is_torch_function_mode_enabled()
    )


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``F.dropout(x, p, training)`` with the cheaper mask where it applies."""
    if not training or p == 0.0:
        return x
    if p == 1.0 or not applies(x):
        return F.dropout(x, p, training)
    return _Dropout.apply(x, p)


class FastDropout(nn.Dropout):
    """``nn.Dropout`` with the cheaper mask; no state of its own (``optimize`` swaps the class)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace:  # in place has no cheaper form here: keep PyTorch's op
            return F.dropout(x, self.p, self.training, inplace=True)
        return dropout(x, self.p, self.training)


def attention_with_dropout(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float, is_causal: bool) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) [causal]) with dropout p on the weights, @ v: (..., Tq, dv)."""
    scores = torch.matmul(q * (1.0 / math.sqrt(q.shape[-1])), k.transpose(-2, -1))  # (..., Tq, Tk)
    if is_causal:
        scores.masked_fill_(~causal_mask(q.shape[-2], k.shape[-2], device=q.device), float("-inf"))
    return torch.matmul(dropout(torch.softmax(scores, dim=-1), p), v)
