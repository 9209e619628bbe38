"""Positional information: attention by itself is permutation-equivariant, so the model only
knows word order through one of these.

- :class:`SinusoidalPositionalEncoding`: fixed sin/cos table added to the embeddings (Vaswani).
- :class:`LearnedPositionalEmbedding`: a trained table added to the embeddings (BERT, GPT-2).
- :class:`RotaryEmbedding`: rotates q and k by a position-dependent angle inside attention, so
  scores depend on relative position only (RoFormer, Llama).
- :class:`ALiBi`: a per-head linear penalty on distance, added to the scores (Press et al.).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from scratchformers.errors import ConfigError, SequenceTooLongError
from scratchformers.utils import tracing


def _check_length(length: int, max_len: int, what: str) -> None:
    if length > max_len:
        raise SequenceTooLongError(
            f"{what}: sequence length {length} exceeds max_len={max_len} positions. Truncate the "
            f"input to {max_len} tokens (e.g. tokenizer truncation=True, max_length={max_len}) or "
            "build the model with a larger max_positions."
        )


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """(max_len, d_model): PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)."""
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div[: d_model // 2])
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed table to x (B, T, d_model). Apply after the embedding, before attention."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model)[None], persistent=False)  # (1, max_len, d)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor | None = None) -> torch.Tensor:
        if position_ids is None:
            _check_length(x.shape[1], self.pe.shape[1], "SinusoidalPositionalEncoding")
            return x + self.pe[:, : x.shape[1]].to(x.dtype)
        if not tracing():
            _check_length(int(position_ids.max()) + 1, self.pe.shape[1], "SinusoidalPositionalEncoding")
        return x + self.pe[0, position_ids].to(x.dtype)


class LearnedPositionalEmbedding(nn.Embedding):
    """A trained (max_len, d_model) table looked up by position id."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__(max_len, d_model)

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        if position_ids.numel() and not tracing():
            _check_length(int(position_ids.max()) + 1, self.num_embeddings, "LearnedPositionalEmbedding")
        return super().forward(position_ids)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding applied to q and k (B, H, T, head_dim).

    ``style="half"`` (Llama / GPT-NeoX) rotates pairs (x[i], x[i + d/2]); ``"interleaved"``
    (the RoFormer paper, GPT-J) rotates pairs (x[2i], x[2i+1]). Angles are computed in float32.
    """

    def __init__(self, head_dim: int, base: float = 10000.0, style: str = "half"):
        super().__init__()
        if head_dim % 2:
            raise ConfigError(f"RotaryEmbedding needs an even head_dim, got {head_dim}")
        if style not in ("half", "interleaved"):
            raise ConfigError(f"RotaryEmbedding style must be 'half' or 'interleaved', got {style!r}")
        self.style = style
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (head_dim / 2,)

    def cos_sin(self, position_ids: torch.Tensor):
        """position_ids (B, T) or (T,) -> cos, sin shaped (B or 1, 1, T, head_dim)."""
        if position_ids.dim() == 1:
            position_ids = position_ids[None]
        angles = position_ids[..., None].float() * self.inv_freq  # (B, T, hd/2)
        if self.style == "half":
            angles = torch.cat([angles, angles], dim=-1)  # (B, T, hd): same angle for i and i + d/2
        else:
            angles = angles.repeat_interleave(2, dim=-1)  # (B, T, hd): same angle for 2i and 2i+1
        return angles.cos()[:, None], angles.sin()[:, None]  # (B, 1, T, hd)

    def _rotate(self, x: torch.Tensor) -> torch.Tensor:
        if self.style == "half":
            x1, x2 = x.chunk(2, dim=-1)
            return torch.cat([-x2, x1], dim=-1)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([-x2, x1], dim=-1).flatten(-2)  # (..., hd/2, 2) -> (..., hd)

    def forward(self, q: torch.Tensor, k: torch.Tensor, position_ids: torch.Tensor | None = None):
        if position_ids is None:
            position_ids = torch.arange(q.shape[-2], device=q.device)
        cos, sin = self.cos_sin(position_ids.to(q.device))
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        return q * cos + self._rotate(q) * sin, k * cos + self._rotate(k) * sin


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """Head slopes 2^(-8/n), 2^(-16/n), ...; for non-powers of two, interleave as in the paper."""

    def power_of_two_slopes(n: int) -> list[float]:
        start = 2 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(num_heads).is_integer():
        return torch.tensor(power_of_two_slopes(num_heads))
    closest = 2 ** math.floor(math.log2(num_heads))
    extra = power_of_two_slopes(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(power_of_two_slopes(closest) + extra)


class ALiBi(nn.Module):
    """Attention with Linear Biases: ``bias[h, i, j] = -slope_h * |pos_i - j|``, added to scores.

    Queries are bottom-right aligned (query i is key position ``k_len - q_len + i``), so the
    same bias serves causal decoding with a cache and (symmetric) encoders.
    """

    def __init__(self, num_heads: int):
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)  # (H,)

    def forward(self, q_len: int, k_len: int | None = None) -> torch.Tensor:
        k_len = q_len if k_len is None else k_len
        device = self.slopes.device
        query_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]  # (Tq, 1)
        key_pos = torch.arange(k_len, device=device)[None, :]  # (1, Tk)
        distance = (query_pos - key_pos).abs().float()  # (Tq, Tk)
        return -self.slopes[:, None, None] * distance  # (H, Tq, Tk)
