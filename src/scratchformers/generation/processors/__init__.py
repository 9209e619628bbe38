"""Logits processors: small functions that reshape the next-token scores before a token is picked.

Every processor is a pure function ``(..., scores) -> new scores`` with the exact semantics of its
Hugging Face counterpart, plus a tiny callable class ``(input_ids, scores) -> scores`` so they
compose in a :class:`LogitsProcessorList`. ``scores`` is ``(batch, vocab)``; ``input_ids`` is
``(batch, seq_len)``, the prompt plus everything generated so far; filtered tokens get ``-inf``.

- :mod:`.sampling`: temperature, top-k, top-p, min-p, typical, epsilon, eta (only when sampling)
- :mod:`.penalties`: repetition / no-repeat-ngram (also against the encoder input), sequence bias, bad words
- :mod:`.rules`: min length / min new tokens, suppressed tokens, forced BOS / EOS, remove invalid values
- :mod:`.build`: :func:`build_processors`, the chain ``generate`` uses, in HF's order
"""

from scratchformers.generation.processors.base import NEG_INF, LogitsProcessorList, Processor
from scratchformers.generation.processors.build import build_processors
from scratchformers.generation.processors.penalties import (
    BadWords,
    EncoderNoRepeatNGram,
    EncoderRepetitionPenalty,
    NoRepeatNGram,
    RepetitionPenalty,
    SequenceBias,
    bad_words,
    encoder_no_repeat_ngram,
    encoder_repetition_penalty,
    no_repeat_ngram,
    repetition_penalty,
    sequence_bias,
)
from scratchformers.generation.processors.rules import (
    BeginSuppressTokens,
    ForcedBOS,
    ForcedEOS,
    MinLength,
    MinNewTokens,
    RemoveInvalidValues,
    SuppressTokens,
    begin_suppress_tokens,
    forced_bos,
    forced_eos,
    min_length,
    min_new_tokens,
    remove_invalid_values,
    suppress_tokens,
)
from scratchformers.generation.processors.sampling import (
    EpsilonCutoff,
    EtaCutoff,
    MinP,
    Temperature,
    TopK,
    TopP,
    TypicalP,
    epsilon_cutoff,
    eta_cutoff,
    min_p,
    temperature,
    top_k,
    top_p,
    typical_p,
)

__all__ = [
    "NEG_INF", "BadWords", "BeginSuppressTokens", "EncoderNoRepeatNGram", "EncoderRepetitionPenalty",
    "EpsilonCutoff", "EtaCutoff", "ForcedBOS", "ForcedEOS", "LogitsProcessorList", "MinLength", "MinNewTokens",
    "MinP", "NoRepeatNGram", "Processor", "RemoveInvalidValues", "RepetitionPenalty", "SequenceBias",
    "SuppressTokens", "Temperature", "TopK", "TopP", "TypicalP", "bad_words", "begin_suppress_tokens",
    "build_processors", "encoder_no_repeat_ngram", "encoder_repetition_penalty", "epsilon_cutoff", "eta_cutoff",
    "forced_bos", "forced_eos", "min_length", "min_new_tokens", "min_p", "no_repeat_ngram", "remove_invalid_values",
    "repetition_penalty", "sequence_bias", "suppress_tokens", "temperature", "top_k", "top_p", "typical_p",
]  # fmt: skip
