"""How repetitive is a generated text? distinct-n and the repeated n-gram rate.

- distinct-n (Li et al., 2016): unique n-grams / all n-grams. 1.0 = no n-gram repeats.
- repeated n-gram rate (``seq-rep-n``, Welleck et al., 2019): the share of n-grams that repeat an
  earlier one, ``1 - distinct-n``. Greedy decoding of small models typically loops and scores high.

Text is split into whitespace words; a list/tensor of token ids is used as is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from scratchformers.errors import ConfigError, ShapeError, shape_str


@dataclass
class RepetitionReport:
    n: int  # the n of repeated_ngram_rate / most_repeated
    num_units: int  # words (text input) or tokens (ids input)
    distinct: dict[int, float] = field(default_factory=dict)  # n -> distinct-n, for n = 1..max
    repeated_ngram_rate: float = 0.0  # 1 - distinct[n]
    most_repeated: tuple = ()  # the most frequent n-gram
    most_repeated_count: int = 0

    @property
    def looks_degenerate(self) -> bool:
        """Rule of thumb: more than half of the n-grams are repeats (a generation loop)."""
        return self.repeated_ngram_rate > 0.5

    def __str__(self) -> str:
        distinct = "  ".join(f"distinct-{k}={v:.3f}" for k, v in self.distinct.items())
        return (
            f"{self.num_units} units  {distinct}  repeated-{self.n}gram-rate={self.repeated_ngram_rate:.3f}"
            + ("  (looks degenerate)" if self.looks_degenerate else "")
        )


def _ngrams(units: Sequence, n: int) -> list[tuple]:
    return [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]


def distinct_n(units: Sequence, n: int) -> float:
    """Unique n-grams / all n-grams (1.0 when there are no n-grams at all)."""
    grams = _ngrams(units, n)
    return len(set(grams)) / len(grams) if grams else 1.0


def repetition_report(text_or_ids: str | Sequence[int] | torch.Tensor, n: int = 3) -> RepetitionReport:
    """distinct-1..n and the repeated n-gram rate of one text (or one sequence of token ids)."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(text_or_ids, str):
        units: list = text_or_ids.split()
    elif isinstance(text_or_ids, torch.Tensor):
        if text_or_ids.dim() != 1:
            raise ShapeError(
                f"repetition_report takes one sequence, got ids of shape {shape_str(text_or_ids.shape)}; "
                "call it once per row"
            )
        units = text_or_ids.tolist()
    else:
        units = list(text_or_ids)
    distinct = {k: distinct_n(units, k) for k in range(1, n + 1)}
    counts = Counter(_ngrams(units, n))
    top, top_count = counts.most_common(1)[0] if counts else ((), 0)
    return RepetitionReport(
        n=n,
        num_units=len(units),
        distinct=distinct,
        repeated_ngram_rate=1.0 - distinct[n],
        most_repeated=top,
        most_repeated_count=top_count,
    )
