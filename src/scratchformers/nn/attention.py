"""Scaled dot-product attention (the function) and multi-head attention (the module).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + mask) V      softmax over the KEY axis (-1)

Two paths compute the same thing: the explicit math (used when the attention weights are
requested, and readable) and ``torch.nn.functional.scaled_dot_product_attention`` (fused, used
otherwise). Tests prove they agree. Multi-head attention projects with three plain ``nn.Linear``
layers; the CPU speed-ups (one stacked Q/K/V GEMM, oneDNN) live in :mod:`scratchformers.backends`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.errors import ConfigError, ShapeError, shape_str
from scratchformers.nn.masks import causal_mask, check_mask, combine_masks
from scratchformers.utils import tracing


def _valid_rows(mask: torch.Tensor) -> torch.Tensor:
    """(..., Tq, 1) True where the query row may attend at least one key."""
    if mask.dtype == torch.bool:
        return mask.any(dim=-1, keepdim=True)
    return (mask > float("-inf")).any(dim=-1, keepdim=True)


def _unblock_empty_rows(mask: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Let fully masked rows attend everything (finite softmax, clean gradients); their output is
    zeroed afterwards. This is how a fully masked query gives zeros instead of NaN."""
    if mask.dtype == torch.bool:
        return mask | ~valid
    return mask.masked_fill(~valid, 0.0)


def _sdpa_takes_gqa() -> bool:
    """torch >= 2.5: SDPA takes K/V with fewer heads than Q (``enable_gqa``), without copies."""
    try:
        F.scaled_dot_product_attention(torch.zeros(1, 2, 1, 2), torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2),
                                       enable_gqa=True)
        return True
    except (TypeError, RuntimeError):
        return False


_SDPA_GQA = _sdpa_takes_gqa()


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
    return_weights: bool = False,
):
    """Attention over the last two dims: q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv).
    k and v may have fewer heads (dim -3) than q, a divisor of them (grouped-query attention).

    ``mask``: boolean (True = may attend) or float additive, broadcastable to (..., Tq, Tk).
    ``is_causal``: query i sees keys up to ``Tk - Tq + i`` (bottom-right aligned, as a KV cache
    needs). Returns the output (..., Tq, dv), and the weights (..., Tq, Tk) if ``return_weights``.
    """
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ShapeError(
            f"q, k, v need at least 2 dims (..., seq, dim); got q {shape_str(q.shape)}, "
            f"k {shape_str(k.shape)}, v {shape_str(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(
            f"q and k head dims differ: q {shape_str(q.shape)} has d={q.shape[-1]}, k "
            f"{shape_str(k.shape)} has d={k.shape[-1]}. Q K^T needs the same last dim; check the "
            "projections (d_model / num_heads) and that k was not transposed already."
        )
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"k and v must have the same number of keys: k {shape_str(k.shape)} vs v "
            f"{shape_str(v.shape)} (dim -2)."
        )
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise ShapeError(f"q, k, v dtypes differ: {q.dtype}, {k.dtype}, {v.dtype}; cast them to one dtype.")
    groups = 1
    if q.dim() >= 3 and k.dim() >= 3 and k.shape[-3] != q.shape[-3] and k.shape[-3] > 1:
        if q.shape[-3] % k.shape[-3] or k.shape[-3] != v.shape[-3]:
            raise ShapeError(f"q has {q.shape[-3]} heads and k/v {k.shape[-3]}/{v.shape[-3]}: grouped-query "
                             "attention needs the query heads to be a multiple of the K/V heads")
        groups = q.shape[-3] // k.shape[-3]
        if return_weights or not _SDPA_GQA:  # the explicit path wants every head
            k, v = k.repeat_interleave(groups, dim=-3), v.repeat_interleave(groups, dim=-3)  # (..., H, Tk, d)
            groups = 1
    t_q, t_k = q.shape[-2], k.shape[-2]
    if mask is not None:
        kv_batch = k.shape[:-3] + q.shape[-3:-2] if groups > 1 else k.shape[:-2]  # grouped heads serve all H
        batch_shape = torch.broadcast_shapes(q.shape[:-2], kv_batch)
        check_mask(mask, t_q, t_k, batch_shape)
        full_batch = torch.broadcast_shapes(mask.shape[:-2], batch_shape)
        if full_batch != batch_shape:  # the mask adds batch dims: give them to q, k, v too
            if groups > 1:
                k, v = k.repeat_interleave(groups, dim=-3), v.repeat_interleave(groups, dim=-3)
                groups = 1
            q = q.expand(*full_batch, *q.shape[-2:])
            k = k.expand(*full_batch, *k.shape[-2:])
            v = v.expand(*full_batch, *v.shape[-2:])
    if is_causal and t_k < t_q:
        raise ShapeError(f"is_causal with fewer keys ({t_k}) than queries ({t_q}) leaves queries with no key.")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if is_causal and t_q == 1:
        is_causal = False  # one query at the end of the keys (a decode step) sees every key

    # F.sdpa's own is_causal is top-left aligned, so we pass it only when Tq == Tk and no other mask.
    fused_causal = is_causal and mask is None and t_q == t_k
    if is_causal and not fused_causal:
        mask = combine_masks(mask, causal_mask(t_q, t_k, device=q.device), dtype=q.dtype)
    valid = None
    if mask is not None:
        valid = _valid_rows(mask)
        if tracing() or not bool(valid.all()):
            mask = _unblock_empty_rows(mask, valid)
        else:
            valid = None

    if return_weights:
        # Scale q (Tq x d) rather than the scores (Tq x Tk): the same result, one pass over far less
        # memory. The in-place mask ops are safe: matmul's backward does not need its output.
        scores = torch.matmul(q * scale, k.transpose(-2, -1))  # (..., Tq, Tk)
        if fused_causal:
            scores.masked_fill_(~causal_mask(t_q, t_k, device=q.device), float("-inf"))
        elif mask is not None and mask.dtype == torch.bool:
            scores.masked_fill_(~mask, float("-inf"))  # q, k, v already carry the mask's batch dims
        elif mask is not None:
            scores = scores + mask
        weights = torch.softmax(scores, dim=-1)  # normalise over keys
        if valid is not None:
            weights = weights.masked_fill(~valid, 0.0)
        dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
        out = torch.matmul(dropped, v)  # (..., Tq, dv)
        return out, weights

    gqa = {"enable_gqa": True} if groups > 1 else {}  # each K/V head serves `groups` query heads
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=fused_causal, scale=scale, **gqa
    )
    if valid is not None:
        out = out.masked_fill(~valid, 0.0)
    return out


class MultiHeadAttention(nn.Module):
    """Multi-head attention: self or cross, with grouped/multi-query KV heads.

        head_i = Attention(x W_q^i, c W_k^i, c W_v^i)      c = x (self) or the context (cross)
        MultiHead(x, c) = concat(head_1, ..., head_H) W_o

    ``num_kv_heads < num_heads`` shares each K/V head among ``num_heads // num_kv_heads`` query
    heads (GQA; 1 = multi-query). ``kv_dim`` is the width of the context for cross-attention.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        num_kv_heads: int | None = None,
        kv_dim: int | None = None,
        head_dim: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        if num_heads <= 0 or d_model <= 0:
            raise ConfigError(f"d_model ({d_model}) and num_heads ({num_heads}) must be positive")
        if head_dim is None:
            if d_model % num_heads != 0:
                raise ConfigError(
                    f"d_model={d_model} is not divisible by num_heads={num_heads}; each head gets "
                    f"d_model / num_heads dims. Pick num_heads among the divisors of {d_model} "
                    "(or pass head_dim explicitly)."
                )
            head_dim = d_model // num_heads
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if num_kv_heads <= 0 or num_heads % num_kv_heads != 0:
            raise ConfigError(
                f"num_heads={num_heads} must be a multiple of num_kv_heads={num_kv_heads} "
                "(each K/V head serves a whole group of query heads)."
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout={dropout} must be in [0, 1)")
        self.d_model, self.num_heads, self.num_kv_heads = d_model, num_heads, num_kv_heads
        self.head_dim, self.dropout = head_dim, dropout
        kv_dim = d_model if kv_dim is None else kv_dim
        self.q_proj = nn.Linear(d_model, num_heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(kv_dim, num_kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(kv_dim, num_kv_heads * head_dim, bias=bias)
        self.out_proj = nn.Linear(num_heads * head_dim, d_model, bias=bias)

    # The attention function; a backend subclass (scratchformers.backends) may override it.
    _attend = staticmethod(scaled_dot_product_attention)

    def _split_heads(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, heads, self.head_dim).transpose(1, 2)  # (B, T, H*hd) -> (B, H, T, hd)

    def project_self(self, x: torch.Tensor, kv_cache=None):
        """Self-attention's Q, K, V: x (B, T, d_model) -> q (B, H, T, hd), k and v (B, Hkv, T, hd).
        (``kv_cache`` is unused here; a backend that stacks the three weights keeps them per cache.)"""
        q = self._split_heads(self.q_proj(x), self.num_heads)  # (B, H, T, hd)
        k = self._split_heads(self.k_proj(x), self.num_kv_heads)  # (B, Hkv, T, hd)
        v = self._split_heads(self.v_proj(x), self.num_kv_heads)  # (B, Hkv, T, hd)
        return q, k, v

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
        rope=None,
        position_ids: torch.Tensor | None = None,
        kv_cache=None,
        need_weights: bool = False,
    ):
        """x (B, Tq, d_model); context (B, Tk, kv_dim) for cross-attention (None = self).

        ``kv_cache``: a :class:`~scratchformers.nn.kv_cache.KVCache` to append this step's K/V to
        (self-attention) or a filled static one (cross-attention: the context is projected once).
        Returns ``(out (B, Tq, d_model), weights (B, H, Tq, Tk) or None)``.
        """
        if x.dim() != 3 or x.shape[-1] != self.q_proj.in_features:
            raise ShapeError(
                f"attention input x must be (batch, seq, {self.q_proj.in_features}); got {shape_str(x.shape)}"
            )
        b, t_q, _ = x.shape
        cross = context is not None or (kv_cache is not None and kv_cache.static)
        if rope is not None and cross:
            raise ConfigError("rotary embeddings apply to self-attention only, not cross-attention")
        if cross:
            q = self._split_heads(self.q_proj(x), self.num_heads)  # (B, H, Tq, hd)
            if kv_cache is not None and kv_cache.length > 0:
                k, v = kv_cache.keys(), kv_cache.values()  # the context was projected on the first step
            else:
                if context is None:
                    raise ConfigError("the cross-attention cache is empty: pass context= (the encoder output) on the first step")
                if context.dim() != 3 or context.shape[-1] != self.k_proj.in_features:
                    raise ShapeError(
                        f"attention context must be (batch, seq, {self.k_proj.in_features}); got {shape_str(context.shape)}"
                    )
                k = self._split_heads(self.k_proj(context), self.num_kv_heads)  # (B, Hkv, Tk, hd)
                v = self._split_heads(self.v_proj(context), self.num_kv_heads)  # (B, Hkv, Tk, hd)
                if kv_cache is not None:
                    k, v = kv_cache.update(k, v)
        else:
            q, k, v = self.project_self(x, kv_cache)
            if rope is not None:
                q, k = rope(q, k, position_ids)
            if kv_cache is not None:
                k, v = kv_cache.update(k, v)  # (B, Hkv, T_past + Tq, hd)
        # With num_kv_heads < num_heads, k and v keep their Hkv heads: the attention function
        # lets each serve num_heads // num_kv_heads query heads (GQA).
        dropout_p = self.dropout if self.training else 0.0
        result = self._attend(
            q, k, v, mask, is_causal=is_causal and not cross, dropout_p=dropout_p, return_weights=need_weights
        )
        out, weights = result if need_weights else (result, None)
        out = out.transpose(1, 2).reshape(b, t_q, self.num_heads * self.head_dim)  # (B, H, Tq, hd) -> (B, Tq, H*hd)
        return self.out_proj(out), weights
