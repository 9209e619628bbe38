"""Decoder-only language models share one forward pass: embed -> causal blocks -> norm -> head.

:class:`DecoderLM` holds that pass; :mod:`~scratchformers.models.gpt` and
:mod:`~scratchformers.models.llama` only say how tokens are embedded and which blocks to stack.
"""

from __future__ import annotations

import torch

from scratchformers.errors import ShapeError, shape_str
from scratchformers.generation.mixin import GenerationMixin
from scratchformers.models.base import Model, causal_lm_loss, reject_unknown_kwargs
from scratchformers.models.outputs import CausalLMOutput
from scratchformers.nn.kv_cache import DecoderCache, KVCache
from scratchformers.nn.masks import optional_padding_mask


def position_ids_from_mask(attention_mask: torch.Tensor, past_length: int, q_len: int) -> torch.Tensor:
    """Position of each new token = number of real tokens before it (left padding safe). (B, Tq)."""
    positions = attention_mask.long().cumsum(-1) - 1  # (B, T_past + Tq)
    return positions.clamp(min=0)[:, past_length : past_length + q_len]


class DecoderLM(GenerationMixin, Model):
    """Base of the causal LMs. Subclasses build ``token_embedding``, ``blocks``, ``final_norm``,
    ``lm_head`` and ``rope`` (a RotaryEmbedding, or None when positions are added to the embeddings)
    and implement :meth:`embed`."""

    scaled_residual_init = True

    def embed(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def tie_weights(self) -> None:
        if self.config.tie_weights and getattr(self, "lm_head", None) is not None:
            self.lm_head.weight = self.token_embedding.weight

    def new_cache(self, batch_size: int, max_len: int | None = None, *, dtype=None, device=None) -> DecoderCache:
        """A preallocated KV cache for ``max_len`` positions (default: the model's max)."""
        max_len = self.max_positions if max_len is None else max_len
        attn = self.blocks[0].self_attn
        layers = [
            KVCache(batch_size, attn.num_kv_heads, max_len, attn.head_dim, dtype=dtype or self.dtype, device=device or self.device)
            for _ in self.blocks
        ]
        return DecoderCache(layers)

    def forward_hidden(self, input_ids, *, attention_mask=None, position_ids=None, cache=None, need_weights=False):
        """Final hidden states (B, T, d_model) and the per-layer attention weights (or None)."""
        past = cache.length if cache is not None else 0
        self.check_input_ids(input_ids, past_length=past)
        batch, q_len = input_ids.shape
        if attention_mask is not None and attention_mask.shape != (batch, past + q_len):
            raise ShapeError(
                f"attention_mask must be (batch, cached + new tokens) = {shape_str((batch, past + q_len))}, "
                f"got {shape_str(attention_mask.shape)}. With a KV cache, extend the mask by one column per step."
            )
        mask = optional_padding_mask(attention_mask)  # (B, 1, 1, T_past + Tq) or None
        if position_ids is None:
            if attention_mask is not None:
                position_ids = position_ids_from_mask(attention_mask, past, q_len)  # (B, Tq)
            else:
                position_ids = torch.arange(past, past + q_len, device=input_ids.device)[None]  # (1, Tq)
        x = self.embed(input_ids, position_ids)  # (B, Tq, d_model)
        attentions = []
        for i, block in enumerate(self.blocks):
            x, weights = block(
                x,
                mask=mask,
                rope=self.rope,
                position_ids=position_ids,
                kv_cache=cache.layers[i] if cache is not None else None,
                need_weights=need_weights,
            )
            attentions.append(weights)
        return self.final_norm(x), (tuple(attentions) if need_weights else None)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        *,
        position_ids: torch.Tensor | None = None,
        cache: DecoderCache | None = None,
        need_weights: bool = False,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> CausalLMOutput:
        """input_ids (B, T) -> logits (B, T, vocab); with ``labels`` also the next-token loss.

        ``attention_mask`` (B, T_past + T): 1 = token, 0 = padding (left padding is fine).
        ``labels`` (B, T): the unshifted ids (``labels=input_ids``; -100 = ignore), shifted inside:
        position t is scored on labels[t + 1], as in Hugging Face's causal LMs.
        ``logits_to_keep=n`` computes logits for the last n positions only (generation).
        """
        reject_unknown_kwargs(self, kwargs)
        hidden, attentions = self.forward_hidden(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, cache=cache, need_weights=need_weights
        )
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.lm_head(hidden)  # (B, T, vocab)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutput(logits=logits, loss=loss, attentions=attentions, last_hidden_state=hidden)
