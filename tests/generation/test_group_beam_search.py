"""Diverse (group) beam search against transformers 4.46.3 (recorded: transformers 5 no longer
implements ``num_beam_groups``; see reference/record.py), plus hand-checked properties."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from scratchformers.errors import ConfigError
from scratchformers.generation import generate
from scratchformers.generation.group_beam_search import Hypotheses, hamming_penalty

REFERENCE = Path(__file__).parent / "reference"
sys.path.insert(0, str(REFERENCE))
from weights import PAD, prompts  # noqa: E402

RECORDED = json.loads((REFERENCE / "group_beam_4_46_3.json").read_text())


def test_prompts_are_the_recorded_ones():
    ids, mask = prompts()
    assert ids.tolist() == RECORDED["meta"]["prompt_ids"] and mask.tolist() == RECORDED["meta"]["attention_mask"]


@pytest.mark.parametrize("case", RECORDED["cases"], ids=[c["name"] for c in RECORDED["cases"]])
def test_group_beam_search_matches_transformers_4_46(reference_gpt2, case):
    ids, mask = prompts()
    ids, mask = ids[case["rows"]], mask[case["rows"]]
    out = generate(reference_gpt2, ids, attention_mask=mask, max_new_tokens=RECORDED["meta"]["max_new_tokens"], pad_token_id=PAD,
                   return_dict_in_generate=True, output_scores=True, **case["options"])  # fmt: skip
    assert out.sequences.tolist() == case["sequences"]
    torch.testing.assert_close(out.sequences_scores, torch.tensor(case["sequences_scores"]), atol=1e-5, rtol=1e-5)


def test_recorded_cases_exercise_eos_and_diversity():
    """The reference is not trivial: some hypotheses end with EOS before max length, and the returned
    sequences of one prompt differ from each other."""
    eos_cases = [c for c in RECORDED["cases"] if "eos_token_id" in c["options"]]
    prompt_len = len(RECORDED["meta"]["prompt_ids"][0])  # generated tokens start here, not at 0
    # an EOS among the generated tokens before the last column: a hypothesis that ended early
    ended = sum(any(c["options"]["eos_token_id"] in row[prompt_len : len(row) - 1] for row in c["sequences"])
                for c in eos_cases)  # fmt: skip
    assert ended >= 1
    first = RECORDED["cases"][0]
    n = first["options"]["num_return_sequences"]
    assert len({tuple(row) for row in first["sequences"][:n]}) == n


def test_groups_differ_more_with_a_larger_penalty(reference_gpt2):
    """Property: the first generated token of each group's best beam; with a large penalty every
    group is pushed off the tokens earlier groups took, so the groups' first tokens are distinct."""
    ids, mask = prompts()
    out = generate(reference_gpt2, ids, attention_mask=mask, max_new_tokens=1, pad_token_id=PAD, num_beams=4, num_beam_groups=4,
                   diversity_penalty=100.0, num_return_sequences=4)  # fmt: skip
    firsts = out[:, -1].view(3, 4)
    assert all(len(set(row.tolist())) == 4 for row in firsts)


def test_hamming_penalty_by_hand():
    scores = torch.zeros(1, 2, 5)  # one prompt, a group of 2 beams, 5 tokens
    earlier = torch.tensor([[3, 3, 1]])  # tokens picked this step by earlier groups
    got = hamming_penalty(scores, earlier, 0.5)
    assert got[0, 0].tolist() == [0.0, -0.5, 0.0, -1.0, 0.0] and torch.equal(got[0, 0], got[0, 1])


def test_hypotheses_keep_the_best_and_stop_by_hand():
    h = Hypotheses(2, length_penalty=1.0, early_stopping=False, max_length=10)
    h.add([1], -4.0, 2)  # score -2
    h.add([2], -3.0, 3)  # score -1
    h.add([3], -9.0, 3)  # score -3: worse than both, dropped
    assert sorted(s for s, _ in h.items) == [-2.0, -1.0] and h.worst == -2.0
    assert not h.is_done(best_sum_logprobs=-3.0, cur_len=5, prompt_len=2)  # -3/3 = -1 > -2: can improve
    assert h.is_done(best_sum_logprobs=-7.0, cur_len=5, prompt_len=2)  # -7/3 < -2: cannot


@pytest.mark.parametrize(
    "options, name",
    [
        (dict(num_beams=4, num_beam_groups=3, diversity_penalty=1.0), "num_beam_groups"),
        (dict(num_beams=4, num_beam_groups=2), "diversity_penalty"),
        (dict(num_beams=4, num_beam_groups=2, diversity_penalty=1.0, do_sample=True), "num_beam_groups"),
    ],
)
def test_invalid_group_options(reference_gpt2, options, name):
    with pytest.raises(ConfigError, match=name):
        generate(reference_gpt2, prompts()[0], **options)


@pytest.mark.parametrize(
    "options",
    [dict(num_beam_groups=2, diversity_penalty=1.0), dict(force_words_ids=[[30, 31], [9]])],
    ids=["group", "constrained"],
)
def test_cached_equals_uncached(reference_gpt2, options):
    """The KV cache is reordered with the parents the loops pick: same result as recomputing everything."""
    ids, mask = prompts()
    common = dict(attention_mask=mask, max_new_tokens=8, pad_token_id=PAD, num_beams=4, eos_token_id=12, **options)
    assert torch.equal(generate(reference_gpt2, ids, use_cache=True, **common), generate(reference_gpt2, ids, use_cache=False, **common))
