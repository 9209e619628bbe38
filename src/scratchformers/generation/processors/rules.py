"""Rules on WHICH tokens may come at a given length: no EOS before a minimum length, tokens never
allowed (or not at the first step), a forced first / last token, and non-finite scores repaired.

``cur_len`` is ``input_ids.size(1)``: the prompt (padding included, as in the reference) plus the
tokens generated so far. Same semantics as the Hugging Face processors of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation.processors.base import NEG_INF, CachedMask, check_scores, eos_ids, vocab_mask


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name}={value!r} is invalid: it must be an integer >= 0")


def min_length(input_ids: torch.Tensor, scores: torch.Tensor, length: int, eos_token_id) -> torch.Tensor:
    """EOS gets ``-inf`` while the sequence (prompt included) is shorter than ``length``."""
    check_scores(scores)
    _check_count("min_length", length)
    if input_ids.size(1) >= length:
        return scores
    return scores.masked_fill(vocab_mask(scores, eos_ids(eos_token_id, required=True)), NEG_INF)


def min_new_tokens(
    input_ids: torch.Tensor, scores: torch.Tensor, count: int, eos_token_id, prompt_length: int
) -> torch.Tensor:
    """EOS gets ``-inf`` until ``count`` tokens have been generated after the ``prompt_length`` prompt."""
    check_scores(scores)
    _check_count("min_new_tokens", count)
    if input_ids.size(1) - prompt_length >= count:
        return scores
    return scores.masked_fill(vocab_mask(scores, eos_ids(eos_token_id, required=True)), NEG_INF)


def suppress_tokens(scores: torch.Tensor, token_ids) -> torch.Tensor:
    """``token_ids`` get ``-inf`` at every step."""
    check_scores(scores)
    return scores.masked_fill(vocab_mask(scores, list(token_ids)), NEG_INF)


def begin_suppress_tokens(input_ids: torch.Tensor, scores: torch.Tensor, token_ids, begin_index: int) -> torch.Tensor:
    """``token_ids`` get ``-inf`` at the step whose input has ``begin_index`` tokens (the first step)."""
    check_scores(scores)
    if input_ids.size(1) != begin_index:
        return scores
    return scores.masked_fill(vocab_mask(scores, list(token_ids)), NEG_INF)


def _force(scores: torch.Tensor, token_ids, name: str) -> torch.Tensor:
    vocab = scores.size(-1)
    outside = [t for t in ([token_ids] if isinstance(token_ids, int) else token_ids) if t >= vocab]
    if outside:
        raise ConfigError(f"{name}={token_ids!r} names token ids {outside} outside the vocabulary of {vocab}: use ids < {vocab}")
    forced = torch.full_like(scores, NEG_INF)
    forced[:, token_ids] = 0
    return forced


def forced_bos(input_ids: torch.Tensor, scores: torch.Tensor, bos_token_id: int) -> torch.Tensor:
    """At the first step of a one-token (decoder start) input, only ``bos_token_id`` is possible (score 0)."""
    check_scores(scores)
    return _force(scores, bos_token_id, "forced_bos_token_id") if input_ids.size(1) == 1 else scores


def forced_eos(input_ids: torch.Tensor, scores: torch.Tensor, max_length: int, eos_token_id) -> torch.Tensor:
    """At the last step (the sequence is ``max_length - 1`` long) only EOS is possible (score 0)."""
    check_scores(scores)
    return _force(scores, eos_ids(eos_token_id, required=True), "forced_eos_token_id") if input_ids.size(1) == max_length - 1 else scores


def remove_invalid_values(scores: torch.Tensor) -> torch.Tensor:
    """NaN -> 0, +inf -> the dtype's largest value, -inf -> its lowest (so sampling never fails)."""
    check_scores(scores)
    info = torch.finfo(scores.dtype)
    out = torch.where(scores.isnan(), 0.0, scores)
    out = torch.where(scores == float("inf"), info.max, out)
    return torch.where(scores == NEG_INF, info.min, out)


# ----------------------------------------------------------------------------- composable classes


@dataclass
class MinLength(CachedMask):
    length: int
    eos_token_id: int | list[int]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        check_scores(scores)
        _check_count("min_length", self.length)
        if input_ids.size(1) >= self.length:
            return scores
        return scores.masked_fill(self.cached_mask(scores, lambda: eos_ids(self.eos_token_id, required=True)), NEG_INF)


@dataclass
class MinNewTokens(CachedMask):
    count: int
    eos_token_id: int | list[int]
    prompt_length: int

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        check_scores(scores)
        _check_count("min_new_tokens", self.count)
        if input_ids.size(1) - self.prompt_length >= self.count:
            return scores
        return scores.masked_fill(self.cached_mask(scores, lambda: eos_ids(self.eos_token_id, required=True)), NEG_INF)


@dataclass
class SuppressTokens(CachedMask):
    token_ids: list[int]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        check_scores(scores)
        return scores.masked_fill(self.cached_mask(scores, lambda: list(self.token_ids)), NEG_INF)


@dataclass
class BeginSuppressTokens:
    token_ids: list[int]
    begin_index: int

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return begin_suppress_tokens(input_ids, scores, self.token_ids, self.begin_index)


@dataclass
class ForcedBOS:
    bos_token_id: int

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return forced_bos(input_ids, scores, self.bos_token_id)


@dataclass
class ForcedEOS:
    max_length: int
    eos_token_id: int | list[int]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return forced_eos(input_ids, scores, self.max_length, self.eos_token_id)


class RemoveInvalidValues:
    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return remove_invalid_values(scores)
