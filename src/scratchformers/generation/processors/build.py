"""The chain of processors ``generate`` applies for a :class:`GenerationConfig`, in the reference's order:

sequence bias, encoder repetition penalty, repetition penalty, no-repeat-ngram, encoder
no-repeat-ngram, bad words, min length, min new tokens, forced BOS, forced EOS, remove invalid
values, suppress tokens, begin-suppress tokens; then, when sampling only, the warpers
temperature, top-k, top-p, min-p, typical, epsilon, eta. The order matters: a warper after a
penalty sees the penalised scores, ``remove_invalid_values`` repairs what came before it.
"""

from __future__ import annotations

import torch

from scratchformers.generation.config import GenerationConfig
from scratchformers.generation.processors.base import LogitsProcessorList
from scratchformers.generation.processors.penalties import (
    BadWords,
    EncoderNoRepeatNGram,
    EncoderRepetitionPenalty,
    NoRepeatNGram,
    RepetitionPenalty,
    SequenceBias,
)
from scratchformers.generation.processors.rules import (
    BeginSuppressTokens,
    ForcedBOS,
    ForcedEOS,
    MinLength,
    MinNewTokens,
    RemoveInvalidValues,
    SuppressTokens,
)
from scratchformers.generation.processors.sampling import (
    EpsilonCutoff,
    EtaCutoff,
    MinP,
    Temperature,
    TopK,
    TopP,
    TypicalP,
)


def build_processors(
    config: GenerationConfig,
    *,
    min_tokens_to_keep: int = 1,
    padding_lengths: torch.Tensor | None = None,
    prompt_length: int | None = None,
    max_length: int | None = None,
    encoder_input_ids: torch.Tensor | None = None,
) -> LogitsProcessorList:
    """The processors HF ``generate`` would build for ``config``, in HF's order.

    Warpers only apply when sampling, exactly like HF; neutral values (temperature 1, top_k 0,
    top_p 1) add nothing. ``padding_lengths`` (rows,) keeps the repetition penalty off each row's
    left padding; ``prompt_length`` (the padded prompt width) anchors ``min_new_tokens`` and
    ``begin_suppress_tokens``; ``max_length`` (prompt + max_new_tokens) places ``forced_eos_token_id``;
    ``encoder_input_ids`` (the prompt of a decoder-only model, the source of an encoder-decoder)
    feeds the encoder penalties. EOS-based rules need ``config.eos_token_id``.
    """
    c = config
    chain = LogitsProcessorList()
    eos = c.eos_token_id
    if c.sequence_bias is not None:
        chain.append(SequenceBias(c.sequence_bias))
    if c.encoder_repetition_penalty != 1.0 and encoder_input_ids is not None:
        chain.append(EncoderRepetitionPenalty(c.encoder_repetition_penalty, encoder_input_ids))
    if c.repetition_penalty != 1.0:
        chain.append(RepetitionPenalty(c.repetition_penalty, ignore_before=padding_lengths))
    if c.no_repeat_ngram_size:
        chain.append(NoRepeatNGram(c.no_repeat_ngram_size))
    if c.encoder_no_repeat_ngram_size and encoder_input_ids is not None:
        chain.append(EncoderNoRepeatNGram(c.encoder_no_repeat_ngram_size, encoder_input_ids))
    if c.bad_words_ids is not None:
        chain.append(BadWords(c.bad_words_ids, eos))
    if c.min_length > 0 and eos is not None:
        chain.append(MinLength(c.min_length, eos))
    if c.min_new_tokens > 0 and eos is not None:
        chain.append(MinNewTokens(c.min_new_tokens, eos, prompt_length or 0))
    if c.forced_bos_token_id is not None:
        chain.append(ForcedBOS(c.forced_bos_token_id))
    if c.forced_eos_token_id is not None and max_length is not None:
        chain.append(ForcedEOS(max_length, c.forced_eos_token_id))
    if c.remove_invalid_values:
        chain.append(RemoveInvalidValues())
    if c.suppress_tokens is not None:
        chain.append(SuppressTokens(list(c.suppress_tokens)))
    if c.begin_suppress_tokens is not None:
        begin = prompt_length or 0
        if begin <= 1 and c.forced_bos_token_id is not None:
            begin += 1  # the forced BOS takes the first step
        chain.append(BeginSuppressTokens(list(c.begin_suppress_tokens), begin))
    if c.do_sample:
        _add_warpers(chain, c, min_tokens_to_keep)
    return chain


def _add_warpers(chain: LogitsProcessorList, c: GenerationConfig, keep: int) -> None:
    if c.temperature != 1.0:
        chain.append(Temperature(c.temperature))
    if c.top_k:
        chain.append(TopK(c.top_k, keep))
    if c.top_p is not None and c.top_p < 1.0:
        chain.append(TopP(c.top_p, keep))
    if c.min_p is not None:
        chain.append(MinP(c.min_p, keep))
    if c.typical_p is not None and c.typical_p < 1.0:
        chain.append(TypicalP(c.typical_p, keep))
    if c.epsilon_cutoff is not None and 0.0 < c.epsilon_cutoff < 1.0:
        chain.append(EpsilonCutoff(c.epsilon_cutoff, keep))
    if c.eta_cutoff is not None and 0.0 < c.eta_cutoff < 1.0:
        chain.append(EtaCutoff(c.eta_cutoff, keep))
