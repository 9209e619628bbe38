"""Attention masks. One polarity everywhere in scratchformers:

    boolean mask: True = this query MAY attend to this key, False = blocked.
    float mask:   added to the scores (0 = allowed, -inf = blocked, anything else = a bias).

This is the polarity of ``torch.nn.functional.scaled_dot_product_attention``'s boolean mask, and
the *opposite* of ``torch.nn.MultiheadAttention``'s ``attn_mask``/``key_padding_mask`` (where
True means blocked). Hugging Face's ``attention_mask`` (1 = real token, 0 = padding) converts
with :func:`padding_mask`.
"""

from __future__ import annotations

import torch

from scratchformers.errors import DTypeError, ShapeError, shape_str
from scratchformers.utils import tracing


def causal_mask(q_len: int, k_len: int | None = None, device=None) -> torch.Tensor:
    """Boolean ``(q_len, k_len)`` mask where query i may attend keys ``j <= k_len - q_len + i``.

    The diagonal is aligned bottom-right: with a KV cache the ``q_len`` new queries are the last
    ``q_len`` positions of the ``k_len`` keys.
    """
    k_len = q_len if k_len is None else k_len
    if k_len < q_len:
        raise ShapeError(
            f"causal_mask: k_len={k_len} < q_len={q_len}; with bottom-right alignment every query "
            "needs at least its own key. Pass k_len >= q_len (k_len = cached length + q_len)."
        )
    query_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]  # (q_len, 1)
    key_pos = torch.arange(k_len, device=device)[None, :]  # (1, k_len)
    return key_pos <= query_pos


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """``(B, Tk)`` with 1 = real token, 0 = padding -> boolean ``(B, 1, 1, Tk)`` (True = attend)."""
    if attention_mask.dim() != 2:
        raise ShapeError(
            f"attention_mask must be (batch, seq_len) with 1 for tokens and 0 for padding; "
            f"got shape {shape_str(attention_mask.shape)}"
        )
    if (attention_mask.is_floating_point() or attention_mask.is_complex()) and not tracing():
        bad = (attention_mask != 0) & (attention_mask != 1)
        if bool(bad.any()):
            raise DTypeError(
                "attention_mask must hold 1 (token) and 0 (padding); got other float values. "
                "If this is an additive mask, pass it as `mask=` to attention instead."
            )
    return attention_mask.bool()[:, None, None, :]  # (B, 1, 1, Tk): broadcast over heads, queries


def optional_padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """:func:`padding_mask`, or None when there is nothing to mask (no mask, or no padding), which
    lets attention take its unmasked fast path. While compiling, the mask is always kept."""
    if attention_mask is None or (not tracing() and bool(attention_mask.all())):
        return None
    return padding_mask(attention_mask)


def to_additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Boolean mask -> float mask (0 where allowed, -inf where blocked); float masks pass through."""
    if mask.dtype == torch.bool:
        zeros = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return zeros.masked_fill(~mask, float("-inf"))
    return mask.to(dtype)


def combine_masks(*masks: torch.Tensor | None, dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    """Combine masks by broadcasting. All boolean -> AND (boolean); any float -> sum of additive."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    if all(m.dtype == torch.bool for m in present):
        out = present[0]
        for m in present[1:]:
            out = out & m
        return out
    out = to_additive(present[0], dtype)
    for m in present[1:]:
        out = out + to_additive(m, dtype)
    return out


def check_mask(mask: torch.Tensor, q_len: int, k_len: int, batch_shape, name: str = "mask") -> None:
    """Raise a clear error when ``mask`` has a wrong dtype or cannot broadcast to the scores."""
    if not isinstance(mask, torch.Tensor):
        raise DTypeError(f"{name} must be a torch.Tensor (bool or float), got {type(mask).__name__}")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise DTypeError(
            f"{name} has dtype {mask.dtype}; expected torch.bool (True = may attend) or a float "
            f"additive mask. If it is a 0/1 padding mask, use `padding_mask(m)` or `{name}.bool()`."
        )
    target = (*batch_shape, q_len, k_len)
    try:
        torch.broadcast_shapes(mask.shape, target)
    except RuntimeError:
        raise ShapeError(
            f"{name} of shape {shape_str(mask.shape)} cannot broadcast to the attention scores "
            f"{shape_str(target)} (batch..., q_len, k_len). A padding mask should be "
            f"(B, 1, 1, k_len); a causal mask (q_len, k_len)."
        ) from None
