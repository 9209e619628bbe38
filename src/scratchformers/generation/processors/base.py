"""What every logits processor shares: argument checks, the ``-inf`` filter value, the chain.

``scores`` is always ``(batch, vocab)``; ``input_ids`` is ``(batch, seq_len)``, the prompt plus
everything generated so far. Filtered tokens get ``-inf`` so that softmax gives them probability 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scratchformers.errors import ConfigError, ShapeError, shape_str

NEG_INF = float("-inf")

Processor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_scores(scores: torch.Tensor) -> None:
    if scores.dim() != 2:
        raise ShapeError(
            f"scores must be (batch, vocab), got shape {shape_str(scores.shape)}; "
            "take the last position first: logits[:, -1, :]"
        )


def check_min_keep(min_tokens_to_keep: int) -> None:
    if not isinstance(min_tokens_to_keep, int) or min_tokens_to_keep < 1:
        raise ConfigError(f"min_tokens_to_keep must be an integer >= 1, got {min_tokens_to_keep!r}")


def check_token_ids(name: str, ids, *, nested: bool = False) -> list:
    """A list of token ids (or, ``nested``, a non-empty list of non-empty lists of them)."""
    def is_ids(seq) -> bool:
        return isinstance(seq, (list, tuple)) and len(seq) > 0 and all(
            isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in seq
        )

    ok = (isinstance(ids, (list, tuple)) and len(ids) > 0 and all(is_ids(s) for s in ids)) if nested else is_ids(ids)
    if not ok:
        shape = "a non-empty list of non-empty lists of token ids (ints >= 0)" if nested else "a non-empty list of token ids (ints >= 0)"
        raise ConfigError(f"{name}={ids!r} is invalid: it must be {shape}")
    return [list(s) for s in ids] if nested else list(ids)


def eos_ids(eos_token_id, *, required: bool = False) -> list[int] | None:
    """``eos_token_id`` (an id or a list of them) as a list of ints >= 0; None stays None unless ``required``."""
    if eos_token_id is None and not required:
        return None
    try:
        ids = [int(eos_token_id)] if isinstance(eos_token_id, int) else [int(i) for i in eos_token_id]
    except (TypeError, ValueError):
        ids = []
    if not ids or any(i < 0 for i in ids):
        raise ConfigError(f"eos_token_id={eos_token_id!r} is invalid: it must be an id >= 0 or a non-empty list of them")
    return ids


def vocab_mask(scores: torch.Tensor, token_ids) -> torch.Tensor:
    """(vocab,) bool, True at ``token_ids`` (ids past the vocabulary are ignored)."""
    ids = torch.as_tensor(token_ids, device=scores.device).reshape(-1)
    return torch.isin(torch.arange(scores.size(-1), device=scores.device), ids)


def keep_top(remove: torch.Tensor, scores: torch.Tensor, min_tokens_to_keep: int) -> torch.Tensor:
    """``remove`` with the ``min_tokens_to_keep`` best scores (and their ties) protected."""
    k = min(min_tokens_to_keep, scores.size(-1))
    return remove & (scores < torch.topk(scores, k).values[..., -1:])


class CachedMask:
    """For processor classes: the ``vocab_mask`` of a fixed id list, built once per (vocab, device)."""

    def cached_mask(self, scores: torch.Tensor, token_ids: Callable[[], list[int]]) -> torch.Tensor:
        cache = self.__dict__.setdefault("_masks", {})
        key = (scores.size(-1), scores.device)
        if key not in cache:
            cache[key] = vocab_mask(scores, token_ids())
        return cache[key]


class LogitsProcessorList(list):
    """A list of processors applied in order: ``scores = p(input_ids, scores)`` for each ``p``."""

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores
