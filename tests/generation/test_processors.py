"""Each logits processor equals its transformers counterpart exactly, ties and min_tokens_to_keep included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from transformers.generation import logits_process as hf

from scratchformers.errors import ConfigError, ShapeError
from scratchformers.generation import GenerationConfig
from scratchformers.generation import processors as P

sys.path.insert(0, str(Path(__file__).parent))
from processor_inputs import VOCAB, random_ids, random_scores  # noqa: E402


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("t", [0.3, 1.0, 2.5])
def test_temperature_matches_hf(t, ties):
    scores = random_scores(0, ties=ties)
    expected = hf.TemperatureLogitsWarper(t)(random_ids(0), scores.clone())
    assert torch.equal(P.temperature(scores, t), expected)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 3, 10, VOCAB + 5])
@pytest.mark.parametrize("min_keep", [1, 5])
def test_top_k_matches_hf(k, min_keep, ties):
    for seed in range(5):
        scores = random_scores(seed, ties=ties)
        expected = hf.TopKLogitsWarper(k, min_tokens_to_keep=min_keep)(random_ids(seed), scores.clone())
        assert torch.equal(P.top_k(scores, k, min_tokens_to_keep=min_keep), expected)


def test_top_k_keeps_ties_at_kth_value():
    scores = torch.tensor([[3.0, 1.0, 3.0, 2.0, 0.0]])
    assert P.top_k(scores, 1).isfinite().tolist() == [[True, False, True, False, False]]
    assert P.top_k(scores, 3).isfinite().tolist() == [[True, False, True, True, False]]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("p", [0.05, 0.3, 0.75, 0.95, 1.0])
@pytest.mark.parametrize("min_keep", [1, 4])
def test_top_p_matches_hf(p, min_keep, ties):
    for seed in range(5):
        scores = random_scores(seed, ties=ties)
        expected = hf.TopPLogitsWarper(p, min_tokens_to_keep=min_keep)(random_ids(seed), scores.clone())
        assert torch.equal(P.top_p(scores, p, min_tokens_to_keep=min_keep), expected)


def test_top_p_keeps_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = P.top_p(probs.log(), 0.8).isfinite()[0].tolist()
    assert kept == [True, True, False, False]  # 0.5 + 0.3 reaches 0.8
    assert P.top_p(probs.log(), 0.81).isfinite()[0].tolist() == [True, True, True, False]
    assert P.top_p(probs.log(), 0.01).isfinite()[0].tolist() == [True, False, False, False]  # at least one


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("p", [0.0, 0.05, 0.3, 1.0])
@pytest.mark.parametrize("min_keep", [1, 3])
def test_min_p_matches_hf(p, min_keep, ties):
    for seed in range(5):
        scores = random_scores(seed, ties=ties)
        expected = hf.MinPLogitsWarper(p, min_tokens_to_keep=min_keep)(random_ids(seed), scores.clone())
        assert torch.equal(P.min_p(scores, p, min_tokens_to_keep=min_keep), expected)


@pytest.mark.parametrize("penalty", [0.7, 1.0, 1.3, 2.0])
def test_repetition_penalty_matches_hf(penalty):
    for seed in range(5):
        scores = random_scores(seed, ties=False)
        ids = random_ids(seed, length=30)  # many duplicate ids: each distinct id penalised once
        expected = hf.RepetitionPenaltyLogitsProcessor(penalty)(ids, scores.clone())
        assert torch.equal(P.repetition_penalty(ids, scores, penalty), expected)


def test_repetition_penalty_ignores_left_padding_like_hf():
    scores, ids = random_scores(1, ties=False), random_ids(1)
    ignore = torch.tensor([0, 3, 0, 11, 5, 1])
    expected = hf.RepetitionPenaltyLogitsProcessor(1.5, prompt_ignore_length=ignore)(ids, scores.clone())
    assert torch.equal(P.repetition_penalty(ids, scores, 1.5, ignore_before=ignore), expected)


def test_repetition_penalty_by_hand():
    scores = torch.tensor([[2.0, -2.0, 1.0, 4.0]])
    ids = torch.tensor([[0, 1, 0, 0]])  # id 0 three times: still penalised once
    assert P.repetition_penalty(ids, scores, 2.0).tolist() == [[1.0, -4.0, 1.0, 4.0]]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_no_repeat_ngram_matches_hf(n):
    for seed in range(5):
        scores = random_scores(seed, ties=False)
        ids = random_ids(seed, length=40, vocab=6)  # small vocab: plenty of repeated n-grams
        expected = hf.NoRepeatNGramLogitsProcessor(n)(ids, scores.clone())
        got = P.no_repeat_ngram(ids, scores, n)
        assert torch.equal(got, expected)
        assert bool(got.isinf().any())


def test_chain_matches_hf_in_hf_order():
    ids = random_ids(3, length=20, vocab=VOCAB)
    scores = random_scores(3, ties=True)
    chain = P.build_processors(
        GenerationConfig(do_sample=True, temperature=0.7, top_k=20, top_p=0.9, min_p=0.05, repetition_penalty=1.3, no_repeat_ngram_size=2)
    )
    reference = hf.LogitsProcessorList(
        [
            hf.RepetitionPenaltyLogitsProcessor(1.3),
            hf.NoRepeatNGramLogitsProcessor(2),
            hf.TemperatureLogitsWarper(0.7),
            hf.TopKLogitsWarper(20),
            hf.TopPLogitsWarper(0.9),
            hf.MinPLogitsWarper(0.05),
        ]
    )
    assert [type(p).__name__ for p in chain] == ["RepetitionPenalty", "NoRepeatNGram", "Temperature", "TopK", "TopP", "MinP"]
    assert torch.equal(chain(ids, scores), reference(ids, scores.clone()))


def test_warpers_only_when_sampling():
    chain = P.build_processors(GenerationConfig(do_sample=False, temperature=0.5, top_k=3, top_p=0.5, repetition_penalty=1.2))
    assert [type(p).__name__ for p in chain] == ["RepetitionPenalty"]
    assert len(P.build_processors(GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0))) == 0


def test_processors_do_not_modify_their_input():
    scores, ids = random_scores(0, ties=False), random_ids(0)
    before = scores.clone()
    P.top_k(scores, 3), P.top_p(scores, 0.5), P.min_p(scores, 0.1), P.temperature(scores, 2.0)
    P.repetition_penalty(ids, scores, 1.5), P.no_repeat_ngram(ids, scores, 2)
    assert torch.equal(scores, before)


@pytest.mark.parametrize(
    "call, value",
    [
        (lambda s: P.temperature(s, 0.0), "0.0"),
        (lambda s: P.temperature(s, -1.0), "-1.0"),
        (lambda s: P.top_k(s, -2), "-2"),
        (lambda s: P.top_p(s, 0.0), "0.0"),
        (lambda s: P.top_p(s, 1.5), "1.5"),
        (lambda s: P.min_p(s, -0.1), "-0.1"),
        (lambda s: P.top_k(s, 3, min_tokens_to_keep=0), "0"),
        (lambda s: P.no_repeat_ngram(torch.zeros(6, 3, dtype=torch.long), s, 0), "0"),
        (lambda s: P.repetition_penalty(torch.zeros(6, 3, dtype=torch.long), s, 0.0), "0.0"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_value(call, value):
    with pytest.raises(ConfigError, match=value.replace(".", r"\.")):
        call(random_scores(0, ties=False))


def test_scores_must_be_2d():
    with pytest.raises(ShapeError, match=r"\(2, 3, 50\)"):
        P.top_k(torch.zeros(2, 3, VOCAB), 5)
