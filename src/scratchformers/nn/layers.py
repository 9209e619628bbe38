"""Normalisation, feed-forward and the transformer block (Pre-LN and Post-LN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.errors import ConfigError
from scratchformers.nn.attention import MultiHeadAttention


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


class TransformerBlock(nn.Module):
    """Self-attention (+ optional cross-attention) + feed-forward, each wrapped in a residual.

    Pre-LN (``norm_first=True``, GPT-2/Llama): x = x + sublayer(norm(x)); stable for deep stacks.
    Post-LN (``norm_first=False``, original transformer/BERT): x = norm(x + sublayer(x)).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        *,
        norm_first: bool = True,
        causal: bool = False,
        cross_attention: bool = False,
        num_kv_heads: int | None = None,
        context_dim: int | None = None,
        activation: str = "gelu",
        norm: str = "layernorm",
        norm_eps: float = 1e-5,
        bias: bool = True,
        dropout: float = 0.0,
        attention_dropout: float | None = None,
    ):
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.norm_first, self.causal = norm_first, causal
        self.attn_norm = make_norm(norm, d_model, norm_eps, bias)
        self.self_attn = MultiHeadAttention(
            d_model, num_heads, num_kv_heads=num_kv_heads, bias=bias, dropout=attention_dropout
        )
        if cross_attention:
            self.cross_norm = make_norm(norm, d_model, norm_eps, bias)
            self.cross_attn = MultiHeadAttention(
                d_model, num_heads, kv_dim=context_dim, bias=bias, dropout=attention_dropout
            )
        else:
            self.cross_norm = self.cross_attn = None
        self.ffn_norm = make_norm(norm, d_model, norm_eps, bias)
        self.ffn = FeedForward(d_model, d_ff, activation, bias=bias, dropout=0.0)
        self.dropout = nn.Dropout(dropout)

    def _residual(self, x, norm, sublayer):
        """Apply one sublayer with its residual and norm in Pre-LN or Post-LN order."""
        if self.norm_first:
            out, weights = sublayer(norm(x))
            return x + self._drop(out), weights
        out, weights = sublayer(x)
        return norm(x + self._drop(out)), weights

    def _drop(self, out: torch.Tensor) -> torch.Tensor:
        # Skips the module call when dropout is off: a no-op call per sublayer costs time per token.
        return self.dropout(out) if self.training and self.dropout.p > 0 else out

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        mask: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        rope=None,
        position_ids: torch.Tensor | None = None,
        kv_cache=None,
        cross_kv_cache=None,
        need_weights: bool = False,
    ):
        """x (B, T, d_model) -> (x (B, T, d_model), self-attention weights or None)."""
        x, weights = self._residual(
            x,
            self.attn_norm,
            lambda h: self.self_attn(
                h,
                mask=mask,
                is_causal=self.causal,
                rope=rope,
                position_ids=position_ids,
                kv_cache=kv_cache,
                need_weights=need_weights,
            ),
        )
        if self.cross_attn is not None:
            if context is None and cross_kv_cache is None:
                raise ConfigError("this block has cross-attention: pass context= (the encoder output)")
            x, _ = self._residual(
                x,
                self.cross_norm,
                lambda h: self.cross_attn(h, context, mask=context_mask, kv_cache=cross_kv_cache),
            )
        x, _ = self._residual(x, self.ffn_norm, lambda h: (self.ffn(h), None))
        return x, weights
