"""Transformer building blocks: attention, masks, positional encodings, layers, KV cache."""

from scratchformers.nn.attention import MultiHeadAttention, scaled_dot_product_attention
from scratchformers.nn.block import TransformerBlock
from scratchformers.nn.kv_cache import DecoderCache, KVCache
from scratchformers.nn.layers import FeedForward, LayerNorm, RMSNorm
from scratchformers.nn.masks import causal_mask, combine_masks, padding_mask
from scratchformers.nn.positional import (
    ALiBi,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)

__all__ = [
    "ALiBi",
    "DecoderCache",
    "FeedForward",
    "KVCache",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "RMSNorm",
    "RotaryEmbedding",
    "SinusoidalPositionalEncoding",
    "TransformerBlock",
    "causal_mask",
    "combine_masks",
    "padding_mask",
    "scaled_dot_product_attention",
    "sinusoidal_table",
]
