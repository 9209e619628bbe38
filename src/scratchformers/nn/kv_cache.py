"""Key/value caches for incremental decoding.

Preallocated once per layer (no per-step allocation): ``(B, H_kv, max_len, head_dim)``. A decode
step writes its new keys/values at ``length`` and attends over the filled prefix.
"""

from __future__ import annotations

import torch

from scratchformers.errors import SequenceTooLongError


class KVCache:
    """Cache of one attention layer. ``static=True`` marks a cross-attention cache: filled once
    with the projected encoder output, then only read."""

    def __init__(self, batch_size, num_heads, max_len, head_dim, *, dtype=None, device=None, static=False):
        shape = (batch_size, num_heads, max_len, head_dim)
        self.k = torch.zeros(shape, dtype=dtype or torch.get_default_dtype(), device=device)
        self.v = torch.zeros_like(self.k)
        self.length = 0
        self.static = static

    @property
    def max_len(self) -> int:
        return self.k.shape[2]

    def update(self, k: torch.Tensor, v: torch.Tensor):
        """Append k, v (B, H, T, hd); return all cached keys and values (B, H, length, hd)."""
        start, end = self.length, self.length + k.shape[2]
        if end > self.max_len:
            raise SequenceTooLongError(
                f"KV cache overflow: {start} cached + {k.shape[2]} new positions > max_len={self.max_len}. "
                "Create the cache with a larger max_len (prompt length + max_new_tokens)."
            )
        self.k[:, :, start:end] = k
        self.v[:, :, start:end] = v
        self.length = end
        return self.keys(), self.values()

    def keys(self) -> torch.Tensor:
        return self.k[:, :, : self.length]

    def values(self) -> torch.Tensor:
        return self.v[:, :, : self.length]

    def reorder(self, index: torch.Tensor) -> None:
        """Select batch rows (beam search: each beam continues from its parent beam)."""
        self.k = self.k.index_select(0, index)
        self.v = self.v.index_select(0, index)


class DecoderCache:
    """The caches of a whole decoder: one self-attention cache per layer, and for
    encoder-decoder models one static cross-attention cache per layer."""

    def __init__(self, layers: list[KVCache], cross: list[KVCache | None] | None = None):
        self.layers = layers
        self.cross = cross  # filled lazily with the encoder output's length on first use

    @property
    def length(self) -> int:
        return self.layers[0].length

    @property
    def max_len(self) -> int:
        return self.layers[0].max_len

    def reorder(self, index: torch.Tensor) -> None:
        for cache in self.layers + (self.cross or []):
            if cache is not None:
                cache.reorder(index)
