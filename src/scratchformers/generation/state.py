"""The state one generation keeps between steps, and the model protocol ``generate`` relies on.

A model that generates provides two methods (:class:`~scratchformers.generation.mixin.GenerationMixin`
implements them for decoder-only models, ``EncoderDecoderGenerationMixin`` for encoder-decoders):

- ``prepare_generation_inputs(input_ids, attention_mask, max_new_tokens=, use_cache=, decoder_input_ids=)``
  -> :class:`DecodeState`: checks the inputs, allocates the KV cache, normalises the attention
  mask ONCE (a boolean ``(rows, max_length)`` buffer, True = real token, or None when nothing is
  padded) and the position ids; an encoder-decoder runs its encoder here.
- ``forward_step(sequences, cur_len, state)`` -> the float32 logits ``(rows, vocab)`` of position
  ``cur_len``, feeding the model only the tokens its cache has not seen.

Beam search reorders the cache with ``state.reorder(rows)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from scratchformers.errors import SequenceTooLongError


@runtime_checkable
class GenerationModel(Protocol):
    def prepare_generation_inputs(self, input_ids, attention_mask=None, *, max_new_tokens, use_cache=True, decoder_input_ids=None): ...

    def forward_step(self, sequences: torch.Tensor, cur_len: int, state: DecodeState) -> torch.Tensor: ...


@dataclass
class DecodeState:
    """What one generation keeps between steps."""

    prompt: torch.Tensor  # (rows, T0): the tokens generation continues (the decoder's, for seq2seq)
    max_length: int  # T0 + max_new_tokens
    cache: object | None = None  # the model's KV cache (None: every step reruns the whole prefix)
    attention_mask: torch.Tensor | None = None  # (rows, max_length) bool, True = real token
    position_ids: torch.Tensor | None = None  # (rows, max_length), None = 0, 1, 2, ...
    padding_lengths: torch.Tensor | None = None  # (rows,) left padding of each prompt, for penalties
    encoder_out: torch.Tensor | None = None  # (rows, T_src, d_model) encoder-decoder memory
    source_mask: torch.Tensor | None = None  # (rows, T_src) bool, True = real source token
    seen: int = 0  # tokens the cache holds

    def reorder(self, rows: torch.Tensor) -> None:
        """Beam search: every row continues from row ``rows[i]`` (encoder memory is per prompt, unchanged)."""
        if self.cache is not None:
            self.cache.reorder(rows)

    def new_tokens(self, sequences: torch.Tensor, cur_len: int) -> tuple[torch.Tensor, int]:
        """(the ids to feed now, their first position): the unseen tail, or everything without a cache."""
        start = self.seen if self.cache is not None else 0
        self.seen = cur_len
        return sequences[:, start:cur_len], start


def check_length(model, prompt_len: int, max_new_tokens: int) -> int:
    """prompt_len + max_new_tokens, refused (before anything is allocated) past the model's positions."""
    max_length = prompt_len + max_new_tokens
    max_positions = getattr(model, "max_positions", None)
    if max_positions is not None and max_length > max_positions:
        room = max_positions - prompt_len
        fix = (f"lower max_new_tokens to at most {room} or shorten the prompt" if room > 0 else
               f"the prompt alone fills the context: shorten it to at most {max_positions - 1} tokens")
        raise SequenceTooLongError(
            f"prompt length {prompt_len} + max_new_tokens={max_new_tokens} = {max_length} exceeds the "
            f"model's max_positions={max_positions}; {fix}"
        )
    return max_length


def bool_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """1/0 (or bool) -> bool, or None when nothing is padded (the model's unmasked fast path)."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    return attention_mask != 0
