"""The processors added for issue 17, each equal to its transformers counterpart on the same inputs
(``torch.equal``: exact tensors), plus the chain ``build_processors`` makes, in HF's order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from transformers.generation import logits_process as hf

from scratchformers.errors import ConfigError
from scratchformers.generation import GenerationConfig
from scratchformers.generation import processors as P

sys.path.insert(0, str(Path(__file__).parent))
from processor_inputs import random_ids, random_scores  # noqa: E402


def same(ours: torch.Tensor, reference: torch.Tensor) -> bool:
    return torch.equal(ours, reference)


# ----------------------------------------------------------------------------- sampling warpers
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("mass", [0.05, 0.2, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("keep", [1, 4])
def test_typical_p_matches_hf(mass, keep, ties):
    for seed in range(5):
        scores = random_scores(seed, ties=ties)
        expected = hf.TypicalLogitsWarper(mass, min_tokens_to_keep=keep)(random_ids(seed), scores.clone())
        got = P.typical_p(scores, mass, min_tokens_to_keep=keep)
        assert same(got, expected)
    assert bool(got.isinf().any())  # the filter really removed something


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("keep", [1, 3])
@pytest.mark.parametrize(
    "ours, reference, value",
    [pytest.param(P.epsilon_cutoff, hf.EpsilonLogitsWarper, v, id=f"epsilon-{v}") for v in (1e-4, 0.01, 0.05, 0.3)]
    + [pytest.param(P.eta_cutoff, hf.EtaLogitsWarper, v, id=f"eta-{v}") for v in (1e-4, 0.01, 0.1, 0.5)],
)
def test_epsilon_and_eta_cutoffs_match_hf(ours, reference, value, keep, ties):
    for seed in range(5):
        scores = random_scores(seed, ties=ties)
        expected = reference(value, min_tokens_to_keep=keep)(random_ids(seed), scores.clone())
        assert same(ours(scores, value, min_tokens_to_keep=keep), expected)


def test_epsilon_by_hand():
    probs = torch.tensor([[0.6, 0.3, 0.06, 0.04]])
    assert P.epsilon_cutoff(probs.log(), 0.05).isfinite().tolist() == [[True, True, True, False]]


def test_eta_threshold_by_hand():
    # uniform over 4 tokens: H = log 4, threshold = min(0.3, sqrt(0.3)/4 = 0.137) < 0.25: all kept;
    # a peaked row drops its small tokens (threshold = 0.3 * ... computed below)
    uniform = torch.zeros(1, 4)
    assert P.eta_cutoff(uniform, 0.3).isfinite().all()
    peaked = torch.tensor([[0.9, 0.05, 0.03, 0.02]]).log()
    p = peaked.exp()
    h = float(-(p * peaked).sum())
    threshold = min(0.3, 0.3**0.5 * torch.exp(torch.tensor(-h)).item())
    assert P.eta_cutoff(peaked, 0.3).isfinite()[0].tolist() == (p[0] >= threshold).tolist()


# ----------------------------------------------------------------------------- rules
@pytest.mark.parametrize("length", [0, 11, 12, 13, 30])
@pytest.mark.parametrize("eos", [3, [3, 7]])
def test_min_length_matches_hf(length, eos):
    scores, ids = random_scores(0), random_ids(0, length=12)
    expected = hf.MinLengthLogitsProcessor(length, eos)(ids, scores.clone())
    assert same(P.min_length(ids, scores, length, eos), expected)


@pytest.mark.parametrize("count", [0, 1, 4, 5, 9])
def test_min_new_tokens_matches_hf(count):
    scores, ids = random_scores(1), random_ids(1, length=12)
    expected = hf.MinNewTokensLengthLogitsProcessor(8, count, [5, 9])(ids, scores.clone())
    assert same(P.min_new_tokens(ids, scores, count, [5, 9], prompt_length=8), expected)


def test_suppress_tokens_match_hf():
    scores, ids = random_scores(2), random_ids(2)
    tokens = [0, 7, 7, 49, 60]  # a duplicate and an id past the vocabulary are harmless
    assert same(P.suppress_tokens(scores, tokens), hf.SuppressTokensLogitsProcessor(tokens)(ids, scores.clone()))
    for begin in (11, 12):
        expected = hf.SuppressTokensAtBeginLogitsProcessor(tokens, begin)(ids, scores.clone())
        assert same(P.begin_suppress_tokens(ids, scores, tokens, begin), expected)


@pytest.mark.parametrize("length", [1, 2])
def test_forced_bos_matches_hf(length):
    scores, ids = random_scores(3), random_ids(3, length=length)
    assert same(P.forced_bos(ids, scores, 4), hf.ForcedBOSTokenLogitsProcessor(4)(ids, scores.clone()))


@pytest.mark.parametrize("max_length", [12, 13, 14])
@pytest.mark.parametrize("eos", [2, [2, 6]])
def test_forced_eos_matches_hf(max_length, eos):
    scores, ids = random_scores(4), random_ids(4, length=12)
    expected = hf.ForcedEOSTokenLogitsProcessor(max_length, eos)(ids, scores.clone())
    assert same(P.forced_eos(ids, scores, max_length, eos), expected)


def test_remove_invalid_values_matches_hf():
    scores = random_scores(5)
    scores[0, 3], scores[1, 4], scores[2, 5] = float("nan"), float("inf"), float("-inf")
    expected = hf.InfNanRemoveLogitsProcessor()(random_ids(5), scores.clone())
    got = P.remove_invalid_values(scores)
    assert same(got, expected) and bool(got.isfinite().all())


# ----------------------------------------------------------------------------- penalties and biases
def bias_table():
    # one-token, two-token and three-token sequences; two share their last token (3)
    return {(4,): 2.5, (9, 3): -1.5, (1, 2, 3): 4.0, (7, 8): -0.5, (0,): -3.0}


def test_sequence_bias_matches_hf():
    ids = random_ids(6, length=20, vocab=10)  # small vocab: prefixes do match
    ids[0, -1], ids[1, -2:] = 9, torch.tensor([1, 2])
    for seed in range(4):
        scores = random_scores(seed)
        expected = hf.SequenceBiasLogitsProcessor(bias_table())(ids, scores.clone())
        as_list = [[list(k), v] for k, v in bias_table().items()]
        assert same(P.sequence_bias(ids, scores, bias_table()), expected)
        assert same(P.SequenceBias(as_list)(ids, scores), expected)  # the list form too


@pytest.mark.parametrize("eos", [None, 5, [5, 6]])
def test_bad_words_match_hf(eos):
    ids = random_ids(7, length=16, vocab=8)
    words = [[5], [3], [2, 4], [1, 1, 6], [6]]
    for seed in range(4):
        scores = random_scores(seed)
        expected = hf.NoBadWordsLogitsProcessor(words, eos)(ids, scores.clone())
        got = P.bad_words(ids, scores, words, eos)
        assert same(got, expected)
        assert bool(got[:, 3].isinf().all())  # a one-token bad word is banned everywhere


@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.7])
def test_encoder_repetition_penalty_matches_hf(penalty):
    source = random_ids(8, length=9, rows=2)
    for seed in range(3):
        scores = random_scores(seed)  # 6 rows = 2 prompts x 3 beams
        expected = hf.EncoderRepetitionPenaltyLogitsProcessor(penalty, source)(random_ids(seed), scores.clone())
        assert same(P.encoder_repetition_penalty(scores, source, penalty), expected)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_encoder_no_repeat_ngram_matches_hf(n):
    source = random_ids(9, length=25, vocab=6, rows=3)
    for seed in range(4):
        scores, ids = random_scores(seed), random_ids(seed, length=10, vocab=6)
        expected = hf.EncoderNoRepeatNGramLogitsProcessor(n, source)(ids, scores.clone())
        got = P.encoder_no_repeat_ngram(ids, scores, source, n)
        assert same(got, expected)
        assert bool(got.isinf().any())


# ----------------------------------------------------------------------------- the chain
def test_full_chain_matches_hf_order():
    ids = random_ids(10, length=14, vocab=12)
    source = ids[::3]  # 2 prompts, 3 samples each
    config = GenerationConfig(
        do_sample=True, temperature=0.8, top_k=30, top_p=0.95, typical_p=0.9, epsilon_cutoff=1e-3, eta_cutoff=1e-3,
        repetition_penalty=1.2, no_repeat_ngram_size=3, encoder_repetition_penalty=1.3, encoder_no_repeat_ngram_size=4,
        sequence_bias={(4,): 1.0}, bad_words_ids=[[2, 5]], min_new_tokens=5, eos_token_id=1, suppress_tokens=[8],
        forced_eos_token_id=1, remove_invalid_values=True,
    )
    chain = P.build_processors(config, prompt_length=10, max_length=15, encoder_input_ids=source)
    reference = hf.LogitsProcessorList([
        hf.SequenceBiasLogitsProcessor({(4,): 1.0}),
        hf.EncoderRepetitionPenaltyLogitsProcessor(1.3, source),
        hf.RepetitionPenaltyLogitsProcessor(1.2),
        hf.NoRepeatNGramLogitsProcessor(3),
        hf.EncoderNoRepeatNGramLogitsProcessor(4, source),
        hf.NoBadWordsLogitsProcessor([[2, 5]], 1),
        hf.MinNewTokensLengthLogitsProcessor(10, 5, 1),
        hf.ForcedEOSTokenLogitsProcessor(15, 1),
        hf.InfNanRemoveLogitsProcessor(),
        hf.SuppressTokensLogitsProcessor([8]),
        hf.TemperatureLogitsWarper(0.8),
        hf.TopKLogitsWarper(30),
        hf.TopPLogitsWarper(0.95),
        hf.TypicalLogitsWarper(0.9),
        hf.EpsilonLogitsWarper(1e-3),
        hf.EtaLogitsWarper(1e-3),
    ])  # fmt: skip
    assert len(chain) == len(reference)
    for seed in range(3):
        scores = random_scores(seed)
        assert same(chain(ids, scores), reference(ids, scores.clone()))


@pytest.mark.parametrize(
    "options, name",
    [
        (dict(min_new_tokens=-1), "min_new_tokens"),
        (dict(typical_p=1.5), "typical_p"),
        (dict(epsilon_cutoff=1.0), "epsilon_cutoff"),
        (dict(eta_cutoff=-0.1), "eta_cutoff"),
        (dict(suppress_tokens=[1, -2]), "suppress_tokens"),
        (dict(forced_eos_token_id=[]), "forced_eos_token_id"),
        (dict(encoder_repetition_penalty=0.0), "encoder_repetition_penalty"),
        # a string is a ConfigError too, not a TypeError from the range comparison
        (dict(typical_p="0.9"), "typical_p"),
        (dict(epsilon_cutoff="3e-4"), "epsilon_cutoff"),
        (dict(eta_cutoff="3e-4"), "eta_cutoff"),
        (dict(encoder_repetition_penalty="1.2"), "encoder_repetition_penalty"),
    ],
)
def test_invalid_options_name_the_value(options, name):
    with pytest.raises(ConfigError, match=name):
        GenerationConfig(**options)


def test_function_errors_are_one_line():
    with pytest.raises(ConfigError, match="bad_words_ids"):
        P.bad_words(random_ids(0), random_scores(0), [[]])
    with pytest.raises(ConfigError, match=r"outside the vocabulary of 50"):
        P.sequence_bias(random_ids(0), random_scores(0), {(70,): 1.0})
    with pytest.raises(ConfigError, match="typical_p"):
        P.typical_p(random_scores(0), 1.0)


def test_forced_ids_outside_the_vocabulary_are_one_line_errors():
    """Not a raw IndexError: the value, the vocabulary size and the fix."""
    at_last_step = random_ids(0, length=4)
    with pytest.raises(ConfigError, match=r"forced_eos_token_id=\[60\] .* outside the vocabulary of 50: use ids < 50"):
        P.forced_eos(at_last_step, random_scores(0), 5, 60)
    with pytest.raises(ConfigError, match=r"forced_bos_token_id=60 .* outside the vocabulary of 50"):
        P.forced_bos(random_ids(0, length=1), random_scores(0), 60)


def test_processor_tables_are_built_once_not_per_token(monkeypatch):
    """The decode hot path: bias tensors and vocab masks are built on the first call only (same
    results every call); encoder ids already one per row are not copied."""
    from scratchformers.generation.processors import base, penalties

    built = []
    tables, mask = penalties._bias_tables, base.vocab_mask
    monkeypatch.setattr(penalties, "_bias_tables", lambda *a: built.append("bias") or tables(*a))
    monkeypatch.setattr(base, "vocab_mask", lambda *a: built.append("mask") or mask(*a))
    chain = [P.SequenceBias({(3,): 1.0, (4, 5): -2.0}), P.BadWords([[7], [8, 9]]), P.MinLength(40, 1),
             P.MinNewTokens(5, [1, 2], 10), P.SuppressTokens([0, 6])]  # fmt: skip
    for seed in range(3):
        ids, scores = random_ids(seed), random_scores(seed)
        for processor in chain:
            assert same(processor(ids, scores), processor(ids, scores.clone()))
    assert sorted(built) == ["bias", "bias", "mask", "mask", "mask"]
    encoder_ids = random_ids(0)
    assert penalties._per_row(encoder_ids, encoder_ids.size(0)) is encoder_ids
