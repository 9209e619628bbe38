"""Logits processors: small functions that reshape the next-token scores before a token is picked.

Every processor is a pure function ``(..., scores) -> new scores`` with the exact semantics of its
Hugging Face counterpart (same tie handling, same ``min_tokens_to_keep``), plus a tiny callable
class ``(input_ids, scores) -> scores`` so they compose in a :class:`LogitsProcessorList`.

``scores`` is always ``(batch, vocab)``; ``input_ids`` is ``(batch, seq_len)``, the prompt plus
everything generated so far. Filtered tokens get ``-inf`` so that softmax gives them probability 0.

Order used by :func:`build_processors` (the order of HF ``generate``): repetition penalty,
no-repeat-ngram, then (sampling only) temperature, top-k, top-p, min-p.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from scratchformers.errors import ConfigError, ShapeError, shape_str
from scratchformers.generation.config import GenerationConfig

NEG_INF = float("-inf")


# ----------------------------------------------------------------------------- checks


def _check_scores(scores: torch.Tensor) -> None:
    if scores.dim() != 2:
        raise ShapeError(
            f"scores must be (batch, vocab), got shape {shape_str(scores.shape)}; "
            "take the last position first: logits[:, -1, :]"
        )


def _check_min_keep(min_tokens_to_keep: int) -> None:
    if not isinstance(min_tokens_to_keep, int) or min_tokens_to_keep < 1:
        raise ConfigError(f"min_tokens_to_keep must be an integer >= 1, got {min_tokens_to_keep!r}")


# ----------------------------------------------------------------------------- pure functions


def temperature(scores: torch.Tensor, t: float) -> torch.Tensor:
    """``scores / t``. ``t`` must be > 0 (``generate`` turns ``temperature=0`` into greedy)."""
    if not t > 0:
        raise ConfigError(
            f"temperature must be > 0 to rescale scores, got {t!r}; "
            "use temperature=0 (or do_sample=False) in generate for greedy decoding"
        )
    return scores / t


def top_k(
    scores: torch.Tensor, k: int, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Keep the ``k`` highest scores per row; ties with the k-th score are kept too.

    ``k=0`` disables the filter (as in HF ``generate``). At least ``min_tokens_to_keep`` survive.
    """
    _check_scores(scores)
    if not isinstance(k, int) or k < 0:
        raise ConfigError(f"top_k must be an integer >= 0 (0 disables it), got {k!r}")
    _check_min_keep(min_tokens_to_keep)
    if k == 0:
        return scores
    k = min(max(k, min_tokens_to_keep), scores.size(-1))
    kth_best = torch.topk(scores, k).values[:, -1:]  # (B, 1)
    return scores.masked_fill(scores < kth_best, filter_value)


def top_p(
    scores: torch.Tensor, p: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability reaches ``p``.

    Computed like HF: sort ascending, drop every token whose cumulative probability (from the
    least likely upwards) is ``<= 1 - p``; the ``min_tokens_to_keep`` most likely always stay.
    """
    _check_scores(scores)
    if not 0 < p <= 1:
        raise ConfigError(f"top_p must be in (0, 1], got {p!r}; 1.0 disables the filter")
    _check_min_keep(min_tokens_to_keep)
    sorted_scores, sorted_idx = torch.sort(scores, descending=False)  # (B, V) each
    cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    sorted_remove = cumulative <= (1 - p)
    sorted_remove[:, -min_tokens_to_keep:] = False  # the most likely tokens sit at the end
    remove = sorted_remove.scatter(1, sorted_idx, sorted_remove)  # back to vocab order
    return scores.masked_fill(remove, filter_value)


def min_p(
    scores: torch.Tensor, p: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Keep tokens whose probability is at least ``p`` times the top token's probability."""
    _check_scores(scores)
    if not 0 <= p <= 1:
        raise ConfigError(f"min_p must be in [0, 1], got {p!r}")
    _check_min_keep(min_tokens_to_keep)
    probs = scores.softmax(dim=-1)
    remove = probs < p * probs.amax(dim=-1, keepdim=True)
    keep_idx = torch.topk(probs, min(min_tokens_to_keep, probs.size(-1)), dim=-1).indices
    remove.scatter_(-1, keep_idx, False)
    return scores.masked_fill(remove, filter_value)


def repetition_penalty(
    input_ids: torch.Tensor,
    scores: torch.Tensor,
    penalty: float,
    *,
    ignore_before: torch.Tensor | int | None = None,
) -> torch.Tensor:
    """Penalise every distinct id already in ``input_ids``, once: negative scores are multiplied by
    ``penalty`` and positive ones divided (CTRL paper, HF semantics).

    ``ignore_before`` (int or ``(batch,)`` tensor) excludes leading positions, e.g. left padding.
    """
    _check_scores(scores)
    if not penalty > 0:
        raise ConfigError(f"repetition_penalty must be > 0 (1.0 = off, >1 discourages repeats), got {penalty!r}")
    vocab = scores.size(-1)
    if isinstance(ignore_before, int):
        input_ids = input_ids[:, ignore_before:]
    elif ignore_before is not None:
        # Ignored positions point at a spare column past the vocab that we drop at the end.
        positions = torch.arange(input_ids.size(1), device=input_ids.device)
        input_ids = input_ids.masked_fill(positions[None, :] < ignore_before[:, None], vocab)
    ids = input_ids.clamp(max=vocab)  # (B, T); ids beyond the head's vocab land in the spare column
    padded = torch.nn.functional.pad(scores, (0, 1))  # (B, V + 1)
    seen = padded.gather(1, ids)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    # Duplicate ids scatter the same value, so each distinct id is penalised exactly once.
    return padded.scatter(1, ids, seen)[:, :vocab]


def no_repeat_ngram(input_ids: torch.Tensor, scores: torch.Tensor, n: int) -> torch.Tensor:
    """Ban every token that would complete an n-gram already present in ``input_ids``."""
    _check_scores(scores)
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"no_repeat_ngram_size must be an integer >= 1, got {n!r}")
    seq_len = input_ids.size(1)
    if seq_len < n:
        return scores
    prefix = input_ids[:, seq_len - n + 1 :]  # (B, n-1): the n-gram the next token would complete
    windows = input_ids.unfold(1, n, 1)  # (B, seq_len - n + 1, n) every n-gram so far
    matches = (windows[..., :-1] == prefix[:, None, :]).all(dim=-1)  # (B, num_windows)
    vocab = scores.size(-1)
    # Non-matching windows write to a spare column so they cannot un-ban another window's token.
    banned_ids = torch.where(matches, windows[..., -1].clamp(max=vocab), vocab)
    banned = torch.zeros(scores.size(0), vocab + 1, dtype=torch.bool, device=scores.device)
    banned.scatter_(1, banned_ids, True)
    return scores.masked_fill(banned[:, :vocab], NEG_INF)


# ----------------------------------------------------------------------------- composable classes


@dataclass
class Temperature:
    t: float

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return temperature(scores, self.t)


@dataclass
class TopK:
    k: int
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return top_k(scores, self.k, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class TopP:
    p: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return top_p(scores, self.p, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class MinP:
    p: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return min_p(scores, self.p, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class RepetitionPenalty:
    penalty: float
    ignore_before: torch.Tensor | int | None = None  # per-row left-padding length

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return repetition_penalty(input_ids, scores, self.penalty, ignore_before=self.ignore_before)


@dataclass
class NoRepeatNGram:
    n: int

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return no_repeat_ngram(input_ids, scores, self.n)


Processor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LogitsProcessorList(list):
    """A list of processors applied in order: ``scores = p(input_ids, scores)`` for each ``p``."""

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


def build_processors(
    config: GenerationConfig, *, min_tokens_to_keep: int = 1, padding_lengths: torch.Tensor | None = None
) -> LogitsProcessorList:
    """The processors HF ``generate`` would build for ``config``, in HF's order.

    Warpers (temperature, top-k, top-p, min-p) only apply when sampling, exactly like HF; neutral
    values (temperature 1, top_k 0, top_p 1) add nothing. ``padding_lengths`` (rows,) keeps the
    repetition penalty off each row's left padding.
    """
    processors = LogitsProcessorList()
    if config.repetition_penalty != 1.0:
        processors.append(RepetitionPenalty(config.repetition_penalty, ignore_before=padding_lengths))
    if config.no_repeat_ngram_size:
        processors.append(NoRepeatNGram(config.no_repeat_ngram_size))
    if config.do_sample:
        if config.temperature != 1.0:
            processors.append(Temperature(config.temperature))
        if config.top_k:
            processors.append(TopK(config.top_k, min_tokens_to_keep))
        if config.top_p is not None and config.top_p < 1.0:
            processors.append(TopP(config.top_p, min_tokens_to_keep))
        if config.min_p is not None:
            processors.append(MinP(config.min_p, min_tokens_to_keep))
    return processors
