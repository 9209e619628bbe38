"""``return_dict_in_generate=True`` with ``output_scores`` / ``output_logits``: the same fields and
values as transformers' ``generate`` on the same weights (random GPT-2 / Llama saved by
transformers, loaded by scratchformers), batched and left padded."""

from __future__ import annotations

import pytest
import torch

from scratchformers.generation import GenerateOutput, generate

PAD = 1
LENGTHS = [6, 3, 5]
EXTRAS = dict(return_dict_in_generate=True, output_scores=True, output_logits=True)


def run_both(hf, ours, ids, mask, **options):
    torch.manual_seed(7)
    expected = hf.generate(ids, attention_mask=mask, pad_token_id=PAD, **EXTRAS, **options)
    torch.manual_seed(7)
    got = generate(ours, ids, attention_mask=mask, pad_token_id=PAD, **EXTRAS, **options)
    return got, expected


def assert_steps_close(ours, reference, *, atol=1e-5):
    """Per-step tensors: the same count, shapes and -inf pattern; values to float32 noise (the two
    models compute the logits with different kernels)."""
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert a.shape == b.shape
        assert torch.equal(a.isfinite(), b.isfinite())
        finite = a.isfinite()
        torch.testing.assert_close(a[finite], b[finite], atol=atol, rtol=1e-5)


@pytest.mark.parametrize("pair", ["gpt_pair", "llama_pair"])
def test_greedy_dict_matches_hf(pair, prompts, request):
    hf, ours = request.getfixturevalue(pair)
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    got, expected = run_both(hf, ours, ids, mask, max_new_tokens=10, repetition_penalty=1.3, no_repeat_ngram_size=2)
    assert isinstance(got, GenerateOutput)
    assert torch.equal(got.sequences, expected.sequences)
    assert_steps_close(got.scores, expected.scores)
    assert_steps_close(got.logits, expected.logits)
    assert got.beam_indices is None and got.sequences_scores is None
    assert got["sequences"] is got.sequences and got.keys() == ["sequences", "scores", "logits"]


def test_sampling_dict_matches_hf_with_the_same_global_seed(gpt_pair, prompts):
    # Comparable: both draw with torch.multinomial from the default generator, after identical
    # processors, so one global seed gives one sample (a private torch.Generator is ours only).
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    got, expected = run_both(hf, ours, ids, mask, max_new_tokens=12, do_sample=True, top_k=30, typical_p=0.9, temperature=0.9)
    assert torch.equal(got.sequences, expected.sequences)
    assert_steps_close(got.scores, expected.scores)
    assert_steps_close(got.logits, expected.logits)


@pytest.mark.parametrize("pair", ["gpt_pair", "llama_pair"])
@pytest.mark.parametrize("options", [dict(num_return_sequences=2), dict(length_penalty=0.5, early_stopping=True)])
def test_beam_dict_matches_hf(pair, prompts, request, options):
    hf, ours = request.getfixturevalue(pair)
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    plain = hf.generate(ids, attention_mask=mask, pad_token_id=PAD, max_new_tokens=12, num_beams=3)
    eos = int(torch.mode(plain[:, ids.size(1) + 2 :].reshape(-1)).values)  # some beams end early
    got, expected = run_both(hf, ours, ids, mask, max_new_tokens=12, num_beams=3, eos_token_id=eos, **options)
    assert torch.equal(got.sequences, expected.sequences)
    assert torch.equal(got.beam_indices, expected.beam_indices)
    assert got.beam_indices.dtype == expected.beam_indices.dtype
    torch.testing.assert_close(got.sequences_scores, expected.sequences_scores, atol=1e-5, rtol=1e-5)
    assert_steps_close(got.scores, expected.scores)
    assert_steps_close(got.logits, expected.logits)
    assert bool((got.beam_indices == -1).any())  # some returned hypothesis is shorter than another


def test_scores_only_when_asked(gpt_pair, prompts):
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)
    out = generate(ours, ids, attention_mask=mask, max_new_tokens=4, num_beams=2, return_dict_in_generate=True)
    assert out.scores is None and out.logits is None and out.sequences_scores is None
    assert out.beam_indices.shape == (3, 4)
    plain = generate(ours, ids, attention_mask=mask, max_new_tokens=4, num_beams=2)
    assert torch.equal(out.sequences, plain)


def test_scores_reproduce_the_beam_score(gpt_pair, prompts):
    """Mathematical check: summing each returned sequence's step scores along its beam_indices
    gives sequences_scores * generated_len ** length_penalty (here length_penalty = 1)."""
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)
    out = generate(ours, ids, attention_mask=mask, max_new_tokens=8, num_beams=3, num_return_sequences=3, **EXTRAS)
    steps = torch.stack(out.scores)  # (steps, rows, vocab)
    prompt_len = ids.size(1)
    for row in range(out.sequences.size(0)):
        total = 0.0
        for step, beam in enumerate(out.beam_indices[row].tolist()):
            if beam < 0:
                break
            total += float(steps[step, beam, out.sequences[row, prompt_len + step]])
        generated = int((out.beam_indices[row] >= 0).sum())
        assert total / generated == pytest.approx(float(out.sequences_scores[row]), abs=1e-4)


def test_beam_indices_are_not_tracked_without_return_dict():
    """The bookkeeping is skipped when nothing returns it; sequences and scores are unchanged."""
    from scratchformers.generation.beam_search import BeamSearch
    from scratchformers.generation.stopping import build_stopping_criteria

    prompt = torch.tensor([[5, 6]] * 3 + [[7, 8]] * 3)
    searches = [BeamSearch(prompt, num_beams=3, max_length=8, eos_token_id=[1], stopping=build_stopping_criteria(eos_token_id=[1]),
                           track_indices=track) for track in (True, False)]  # fmt: skip
    g = torch.Generator().manual_seed(0)
    while not searches[0].is_done():
        log_probs = torch.randn(6, 12, generator=g).log_softmax(-1)
        assert torch.equal(searches[0].step(log_probs), searches[1].step(log_probs))
    (seqs, scores, indices), (seqs_off, scores_off, indices_off) = (s.result(2) for s in searches)
    assert torch.equal(seqs, seqs_off) and torch.equal(scores, scores_off)
    assert indices is not None and indices_off is None
