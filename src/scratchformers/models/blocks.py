"""The one place where models turn sizes into transformer blocks.

A :class:`BlockSpec` names what differs between the architectures (Pre/Post-LN, causal, cross-
attention, grouped KV heads, activation, norm kind, biases, dropout); :meth:`BlockSpec.build`
creates the sublayers and hands them to :class:`~scratchformers.nn.block.TransformerBlock`::

    GPT-2:  BlockSpec(768, 12, 3072, activation="gelu_tanh", causal=True)
    Llama:  BlockSpec(2048, 32, 5632, num_kv_heads=4, activation="swiglu", norm="rmsnorm", bias=False, causal=True)
    BERT:   BlockSpec(768, 12, 3072, norm_first=False, norm_eps=1e-12)

Each model describes its block once (``block_spec(config)``) and stacks ``spec.stack(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from scratchformers.nn.attention import MultiHeadAttention
from scratchformers.nn.block import TransformerBlock
from scratchformers.nn.layers import FeedForward, make_norm


@dataclass(frozen=True)
class BlockSpec:
    d_model: int
    num_heads: int
    d_ff: int
    num_kv_heads: int | None = None  # None = num_heads (no grouping)
    activation: str = "gelu"  # relu | gelu | gelu_tanh | silu | swiglu
    norm: str = "layernorm"  # layernorm | rmsnorm
    norm_eps: float = 1e-5
    bias: bool = True
    norm_first: bool = True  # Pre-LN; False = Post-LN
    causal: bool = False
    cross_attention: bool = False
    dropout: float = 0.0  # on each sublayer output
    attention_dropout: float | None = None  # on the attention weights; None = dropout

    def build(self) -> TransformerBlock:
        """A freshly initialised block with this shape."""
        attn_dropout = self.dropout if self.attention_dropout is None else self.attention_dropout

        def norm() -> nn.Module:
            return make_norm(self.norm, self.d_model, self.norm_eps, self.bias)

        def attention(num_kv_heads: int | None) -> MultiHeadAttention:
            return MultiHeadAttention(self.d_model, self.num_heads, num_kv_heads=num_kv_heads, bias=self.bias,
                                      dropout=attn_dropout)

        # Built in state-dict order, so a seeded model draws the same initial weights as before.
        attn_norm, self_attn = norm(), attention(self.num_kv_heads)
        cross_norm, cross_attn = (norm(), attention(None)) if self.cross_attention else (None, None)
        ffn_norm = norm()
        ffn = FeedForward(self.d_model, self.d_ff, self.activation, bias=self.bias, dropout=0.0)
        return TransformerBlock(self_attn, ffn, attn_norm, ffn_norm, cross_attn=cross_attn, cross_norm=cross_norm,
                                norm_first=self.norm_first, causal=self.causal, dropout=self.dropout)

    def stack(self, num_layers: int) -> nn.ModuleList:
        """``num_layers`` independent blocks of this shape."""
        return nn.ModuleList(self.build() for _ in range(num_layers))
