"""``model.generate(...)`` and the model side of the generation protocol (see
:mod:`scratchformers.generation.state`): :class:`GenerationMixin` for decoder-only models,
:class:`EncoderDecoderGenerationMixin` for encoder-decoders.
"""

from __future__ import annotations

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation.generate import generate
from scratchformers.generation.state import DecodeState, bool_mask, check_length


class GenerationMixin:
    """``model.generate(...)`` and the decoder-only side of the generation protocol. The model's
    forward takes ``(ids, attention_mask=, position_ids=, cache=, logits_to_keep=)`` and it has
    ``new_cache(rows, max_length)``."""

    def generate(self, input_ids: torch.Tensor, generation_config=None, **kwargs) -> torch.Tensor:
        """:func:`scratchformers.generation.generate` on this model."""
        return generate(self, input_ids, generation_config, **kwargs)

    def prepare_generation_inputs(
        self, input_ids, attention_mask=None, *, max_new_tokens: int, use_cache: bool = True, decoder_input_ids=None
    ) -> DecodeState:
        if decoder_input_ids is not None:
            raise ConfigError("decoder_input_ids is for encoder-decoder models; a decoder-only model continues input_ids")
        rows, prompt_len = input_ids.shape
        max_length = check_length(self, prompt_len, max_new_tokens)
        mask = bool_mask(attention_mask)
        state = DecodeState(prompt=input_ids, max_length=max_length)
        if mask is not None:
            empty = (~mask).all(dim=1).nonzero().flatten().tolist()
            if empty:
                raise ConfigError(
                    f"attention_mask row(s) {empty} are all padding (an empty prompt); every prompt needs at least "
                    "one real token"
                )
            if bool((~mask[:, -1]).any()):  # right padding would sit between prompt and continuation
                raise ConfigError(
                    "attention_mask has padding at the END of a prompt (right padding); decoder-only generation "
                    "needs left padding (tokenizer padding_side='left') so every prompt ends at the last column"
                )
            # HF positions: each token's index among the real tokens of its row (left padding safe).
            state.attention_mask = torch.ones(rows, max_length, dtype=torch.bool, device=input_ids.device)
            state.attention_mask[:, :prompt_len] = mask  # generated tokens are always real
            state.position_ids = (state.attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            state.padding_lengths = mask.int().argmax(dim=1)
        state.cache = self.new_cache(rows, max_length) if use_cache else None
        return state

    def forward_step(self, sequences: torch.Tensor, cur_len: int, state: DecodeState) -> torch.Tensor:
        ids, start = state.new_tokens(sequences, cur_len)
        out = self(
            ids,
            attention_mask=state.attention_mask[:, :cur_len] if state.attention_mask is not None else None,
            position_ids=state.position_ids[:, start:cur_len] if state.position_ids is not None else None,
            cache=state.cache,
            logits_to_keep=1,
        )
        return out.logits[:, -1].float()  # (rows, vocab)


class EncoderDecoderGenerationMixin(GenerationMixin):
    """The encoder-decoder side: the encoder runs once in ``prepare_generation_inputs``, the decoder
    token by token. Needs ``encode(ids, mask)``, ``new_cache`` and a forward taking
    ``(decoder_input_ids=, attention_mask=, encoder_out=, cache=, logits_to_keep=)``; the decoder
    starts from ``decoder_input_ids`` or ``config.decoder_start_token_id`` / ``bos_token_id``."""

    def prepare_generation_inputs(
        self, input_ids, attention_mask=None, *, max_new_tokens: int, use_cache: bool = True, decoder_input_ids=None
    ) -> DecodeState:
        if decoder_input_ids is None:
            config = getattr(self, "config", None)
            start = getattr(config, "decoder_start_token_id", None)
            start = getattr(config, "bos_token_id", None) if start is None else start
            if start is None:
                raise ConfigError("encoder-decoder generation needs decoder_input_ids (or config.decoder_start_token_id)")
            decoder_input_ids = torch.full((input_ids.size(0), 1), int(start), dtype=torch.long, device=input_ids.device)
        max_length = check_length(self, decoder_input_ids.size(1), max_new_tokens)
        source_mask = bool_mask(attention_mask)
        return DecodeState(
            prompt=decoder_input_ids,
            max_length=max_length,
            encoder_out=self.encode(input_ids, attention_mask=source_mask),  # (rows, T_src, d_model)
            source_mask=source_mask,
            cache=self.new_cache(input_ids.size(0), max_length) if use_cache else None,
        )

    def forward_step(self, sequences: torch.Tensor, cur_len: int, state: DecodeState) -> torch.Tensor:
        ids, _ = state.new_tokens(sequences, cur_len)
        out = self(
            decoder_input_ids=ids,
            attention_mask=state.source_mask,
            encoder_out=state.encoder_out,
            cache=state.cache,
            logits_to_keep=1,
        )
        return out.logits[:, -1].float()  # (rows, vocab)
