"""Self-attention's Q, K and V from one GEMM: the three weights stacked.

    [Q | K | V] = x [W_q | W_k | W_v]^T + [b_q | b_k | b_v]        then split along the last dim

One large GEMM (and one in the backward pass) is faster than three small ones. Stacking copies the
weights, so it pays where that copy is amortised:

- over many tokens (``B * T >= FUSED_QKV_MIN_TOKENS``: training, a prompt's prefill), the weights
  are stacked on every call;
- in cached decoding without gradients (one token per step), the stacked weights are kept for the
  lifetime of the KV cache (one generation) and rebuilt if a weight changes.

Weights created under ``torch.inference_mode`` have no version counter, so their decode steps
run the three projections (a kept stack could go stale unseen). Below the threshold, with gradients on few tokens, and under an active ``TorchFunctionMode`` (the
doctor's op tracer attributes each ``linear`` call to its projection) the plain three projections run. The
result equals :meth:`MultiHeadAttention.project_self` to float32 rounding (tested). Training with
attention dropout and no mask uses the cheaper dropout mask of :mod:`scratchformers.backends.dropout`.
"""

from __future__ import annotations

import weakref

import torch

from scratchformers.backends import attention_choice
from scratchformers.backends.dropout import applies, attention_with_dropout
from scratchformers.backends.onednn import linear
from scratchformers.nn.attention import MultiHeadAttention, scaled_dot_product_attention

# Below this many tokens (B * T) stacking the weights on every call costs more than it saves.
FUSED_QKV_MIN_TOKENS = 64


class FusedQKVAttention(MultiHeadAttention):
    """:class:`MultiHeadAttention` whose self-attention projection is one stacked GEMM. No state of
    its own: :func:`scratchformers.backends.optimize` turns a MultiHeadAttention into one in place."""

    def _stacked_for(self, kv_cache) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The stacked weight and bias kept for this cache (built on the first decode step, dropped
        with the cache), rebuilt when a weight is replaced or updated in place."""
        projs = (self.q_proj, self.k_proj, self.v_proj)
        params = [t for p in projs for t in (p.weight, p.bias) if t is not None]
        key = tuple((t.data_ptr(), t._version) for t in params)
        store = self.__dict__.setdefault("_stacked_by_cache", weakref.WeakKeyDictionary())
        entry = store.get(kv_cache)
        if entry is None or entry[0] != key:
            entry = (key, *_stack(projs))
            store[kv_cache] = entry
        return entry[1], entry[2]

    @staticmethod
    def _attend(q, k, v, mask=None, *, is_causal=False, dropout_p=0.0, return_weights=False):
        """Training with attention dropout, no mask (or causal over equal lengths): the cheaper
        dropout mask of :mod:`scratchformers.backends.dropout`; without dropout, the explicit math
        where it was measured faster (:mod:`scratchformers.backends.attention_choice`); everything
        else the plain function."""
        if dropout_p > 0 and mask is None and not return_weights and applies(q) and q.shape[:-2] == k.shape[:-2] and (
            not is_causal or q.shape[-2] == k.shape[-2]
        ) and q.shape[-1] == k.shape[-1] and k.shape[-2] == v.shape[-2]:
            return attention_with_dropout(q, k, v, dropout_p, is_causal)
        if dropout_p == 0 and mask is None and not return_weights and q.shape == k.shape == v.shape and (
            attention_choice.applies(q, k, is_causal) and attention_choice.math_is_faster(q, k, is_causal)
        ):
            return attention_choice.math_attention(q, k, v, is_causal)  # short sequences: measured faster
        return scaled_dot_product_attention(
            q, k, v, mask, is_causal=is_causal, dropout_p=dropout_p, return_weights=return_weights
        )

    def project_self(self, x: torch.Tensor, kv_cache=None):
        b, t, _ = x.shape
        if torch._C._is_torch_function_mode_enabled() and not torch.compiler.is_compiling():
            return super().project_self(x, kv_cache)  # a tracer is watching: show it the plain model
        if kv_cache is not None and not torch.is_grad_enabled():
            if self.q_proj.weight.is_inference():  # built under inference_mode: no version counter to
                return super().project_self(x, kv_cache)  # tell a stale stack from a fresh one
            weight, bias = self._stacked_for(kv_cache)  # decode step: stacked once per generation
        elif b * t >= FUSED_QKV_MIN_TOKENS:
            weight, bias = _stack((self.q_proj, self.k_proj, self.v_proj))
        else:
            return super().project_self(x, kv_cache)
        sizes = [self.q_proj.out_features, self.k_proj.out_features, self.v_proj.out_features]
        q, k, v = linear(x, weight, bias).split(sizes, dim=-1)  # (B, T, H*hd), (B, T, Hkv*hd) x 2
        return (
            self._split_heads(q, self.num_heads),  # (B, H, T, hd)
            self._split_heads(k, self.num_kv_heads),  # (B, Hkv, T, hd)
            self._split_heads(v, self.num_kv_heads),
        )


def _stack(projs) -> tuple[torch.Tensor, torch.Tensor | None]:
    weight = torch.cat([p.weight for p in projs])  # (H*hd + 2*Hkv*hd, d_model)
    bias = torch.cat([p.bias for p in projs]) if projs[0].bias is not None else None
    return weight, bias
