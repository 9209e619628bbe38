"""The issue-17 options through ``generate``: the same tokens as transformers' ``generate`` with the
same options on the same weights (batched, left padded)."""

from __future__ import annotations

import pytest
import torch

from scratchformers.generation import generate

PAD = 1
LENGTHS = [6, 3, 5]


def both(hf, ours, ids, mask, **options):
    torch.manual_seed(11)
    expected = hf.generate(ids, attention_mask=mask, pad_token_id=PAD, **options)
    torch.manual_seed(11)
    return generate(ours, ids, attention_mask=mask, pad_token_id=PAD, **options), expected


def greedy_tokens(ours, ids, mask, n=10):
    return generate(ours, ids, attention_mask=mask, max_new_tokens=n)[:, ids.size(1) :]


@pytest.mark.parametrize("strategy", [dict(), dict(num_beams=3)], ids=["greedy", "beam"])
@pytest.mark.parametrize(
    "make_options",
    [
        lambda t: dict(eos_token_id=int(t[0, 1]), min_new_tokens=6),
        lambda t: dict(eos_token_id=int(t[0, 1]), min_length=12),
        lambda t: dict(bad_words_ids=[[int(t[0, 0])], [int(t[1, 2]), int(t[1, 3])]]),
        lambda t: dict(suppress_tokens=[int(t[0, 0]), int(t[2, 0])], begin_suppress_tokens=[int(t[1, 0])]),
        lambda t: dict(sequence_bias={(int(t[2, 4]),): 5.0, (int(t[0, 0]), int(t[0, 1])): -10.0}),
        lambda t: dict(forced_eos_token_id=int(t[1, 1])),
        lambda t: dict(encoder_repetition_penalty=4.0, encoder_no_repeat_ngram_size=2),
        lambda t: dict(remove_invalid_values=True, repetition_penalty=1.2),
    ],
    ids=["min_new_tokens", "min_length", "bad_words", "suppress", "sequence_bias", "forced_eos", "encoder", "invalid"],
)
def test_option_matches_hf(gpt_pair, prompts, make_options, strategy):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    options = make_options(greedy_tokens(ours, ids, mask))  # tokens the model would otherwise produce
    got, expected = both(hf, ours, ids, mask, max_new_tokens=10, **options, **strategy)
    assert torch.equal(got, expected)
    assert not torch.equal(got, generate(ours, ids, attention_mask=mask, pad_token_id=PAD, max_new_tokens=10, **strategy)) or (
        "remove_invalid_values" in options
    )  # the option changed the output (remove_invalid_values is a no-op on finite logits)


@pytest.mark.parametrize("options", [dict(epsilon_cutoff=0.02), dict(eta_cutoff=0.02), dict(typical_p=0.5, top_p=0.9)])
def test_new_warpers_sample_like_hf(llama_pair, prompts, options):
    hf, ours = llama_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    got, expected = both(hf, ours, ids, mask, max_new_tokens=12, do_sample=True, **options)
    assert torch.equal(got, expected)
