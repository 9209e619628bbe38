"""Normalisation and feed-forward layers (the block that wires them is :mod:`scratchformers.nn.block`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.errors import ConfigError


class LayerNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dim (bias optional)."""

    def __init__(self, d_model: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight, computed in float32 (Llama)."""

    def __init__(self, d_model: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def make_norm(kind: str, d_model: int, eps: float, bias: bool = True) -> nn.Module:
    if kind == "layernorm":
        return LayerNorm(d_model, eps, bias=bias)
    if kind == "rmsnorm":
        return RMSNorm(d_model, eps)
    raise ConfigError(f"norm must be 'layernorm' or 'rmsnorm', got {kind!r}")


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact (erf) GELU: BERT
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2
    "silu": F.silu,
}


class FeedForward(nn.Module):
    """Position-wise MLP. ``activation="swiglu"`` is gated: down(silu(gate(x)) * up(x)) (Llama)."""

    def __init__(self, d_model: int, d_ff: int, activation: str = "gelu", *, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if activation not in (*ACTIVATIONS, "swiglu"):
            raise ConfigError(f"activation must be one of {[*ACTIVATIONS, 'swiglu']}, got {activation!r}")
        self.activation = activation
        self.gated = activation == "swiglu"
        self.gate_proj = nn.Linear(d_model, d_ff, bias=bias) if self.gated else None
        self.up_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.down_proj = nn.Linear(d_ff, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gated:
            hidden = F.silu(self.gate_proj(x)) * self.up_proj(x)
        else:
            hidden = ACTIVATIONS[self.activation](self.up_proj(x))
        return self.down_proj(self.dropout(hidden))
