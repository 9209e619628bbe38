"""repetition_report: distinct-n and repeated n-gram rate, checked against hand counts."""

from __future__ import annotations

import pytest
import torch

from scratchformers.errors import ConfigError, ShapeError
from scratchformers.generation import distinct_n, repetition_report


def test_hand_counted_text():
    report = repetition_report("the cat sat on the cat sat on the mat", n=3)
    # 10 words; distinct unigrams: the, cat, sat, on, mat -> 5 / 10
    assert report.num_units == 10
    assert report.distinct[1] == pytest.approx(5 / 10)
    # bigrams (9): the-cat, cat-sat, sat-on, on-the, the-cat, cat-sat, sat-on, on-the, the-mat -> 5 distinct
    assert report.distinct[2] == pytest.approx(5 / 9)
    # trigrams (8): the-cat-sat, cat-sat-on, sat-on-the, on-the-cat, the-cat-sat, cat-sat-on, sat-on-the, on-the-mat -> 5
    assert report.distinct[3] == pytest.approx(5 / 8)
    assert report.repeated_ngram_rate == pytest.approx(3 / 8)
    assert report.most_repeated_count == 2
    assert not report.looks_degenerate


def test_token_ids_and_tensors_give_the_same_report():
    ids = [5, 6, 5, 6, 5, 6, 5, 6]
    a, b = repetition_report(ids, n=2), repetition_report(torch.tensor(ids), n=2)
    assert a == b
    assert a.distinct[2] == pytest.approx(2 / 7)  # (5,6) and (6,5)
    assert a.looks_degenerate
    assert a.most_repeated == (5, 6) and a.most_repeated_count == 4


def test_no_repetition_and_short_inputs():
    assert repetition_report("a b c d", n=2).repeated_ngram_rate == 0.0
    assert repetition_report("", n=3).distinct == {1: 1.0, 2: 1.0, 3: 1.0}
    assert distinct_n(["x"], 2) == 1.0
    assert "distinct-1=" in str(repetition_report("a a a a", n=1))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="n=0|got 0"):
        repetition_report("a b", n=0)
    with pytest.raises(ShapeError, match=r"\(2, 2\)"):
        repetition_report(torch.zeros(2, 2, dtype=torch.long))
