"""The transformer block, built from the sublayers it is given (attention, feed-forward, norms).

Pre-LN (``norm_first=True``, GPT-2/Llama):  x = x + sublayer(norm(x))   (stable for deep stacks)
Post-LN (``norm_first=False``, original transformer/BERT): x = norm(x + sublayer(x))

The block owns no choice of attention or MLP: it wires whatever modules it receives into the two
(or, with cross-attention, three) residual sublayers. ``self_attn``/``cross_attn`` are called as
:class:`~scratchformers.nn.attention.MultiHeadAttention` is; ``ffn`` maps (B, T, d) -> (B, T, d).
To build one from sizes, see :class:`scratchformers.models.blocks.BlockSpec`.
"""

from __future__ import annotations

import torch
from torch import nn

from scratchformers.errors import ConfigError


class TransformerBlock(nn.Module):
    """Self-attention (+ optional cross-attention) + feed-forward, each wrapped in a residual.

    ``causal=True`` masks future positions in self-attention (decoders). ``dropout`` applies to
    each sublayer's output before the residual sum.
    """

    def __init__(
        self,
        self_attn: nn.Module,
        ffn: nn.Module,
        attn_norm: nn.Module,
        ffn_norm: nn.Module,
        *,
        cross_attn: nn.Module | None = None,
        cross_norm: nn.Module | None = None,
        norm_first: bool = True,
        causal: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if (cross_attn is None) != (cross_norm is None):
            raise ConfigError("cross_attn and cross_norm go together: pass both (a decoder block) or neither")
        self.norm_first, self.causal = norm_first, causal
        self.attn_norm = attn_norm
        self.self_attn = self_attn
        self.cross_norm = cross_norm
        self.cross_attn = cross_attn
        self.ffn_norm = ffn_norm
        self.ffn = ffn
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
