"""Non-finite logits stop generation with an error naming the step and where the NaN/inf came from
(issue 16: NaN weights once made greedy return [1, 2, 3, 4, 0, 0, ...] and the CLI exit 0)."""

from __future__ import annotations

import copy

import pytest
import torch

import scratchformers as sf
from scratchformers.generation import NonFiniteLogitsError, generate

STRATEGIES = {
    "greedy": {},
    "sample": {"do_sample": True, "generator": torch.Generator().manual_seed(0)},
    "beam": {"num_beams": 3},
}


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    config = sf.GPTConfig(vocab_size=100, max_positions=64, num_layers=2, num_heads=4, d_model=32, tie_weights=False)
    return sf.GPT(config).eval()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_nan_weight_stops_at_step_0_naming_the_first_module_and_parameter(gpt, strategy):
    model = copy.deepcopy(gpt)
    with torch.no_grad():
        model.blocks[1].ffn.up_proj.weight[3, 5] = float("nan")
    options = dict(STRATEGIES[strategy])
    with pytest.raises(NonFiniteLogitsError) as info:
        generate(model, torch.tensor([[1, 2, 3, 4]]), max_new_tokens=5, **options)
    message = str(info.value)
    assert "generation step 0" in message and "NaN" in message
    assert "blocks.1.ffn.up_proj (Linear)" in message  # the plain class, not a backend's
    assert "parameters holding NaN/inf: blocks.1.ffn.up_proj.weight" in message
    assert isinstance(info.value, sf.ScratchformersError)  # the CLI prints it as one line, exit 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_later_step_is_named_when_a_generated_token_brings_the_nan(gpt, strategy):
    """The embedding row of a token generated at step k is NaN: the logits of step k + 1 are the
    first non-finite ones, and the first module with a non-finite output is the embedding."""
    model = copy.deepcopy(gpt)
    prompt = torch.tensor([[1, 2, 3, 4]])
    options = dict(STRATEGIES[strategy])
    if "generator" in options:
        options["generator"] = torch.Generator().manual_seed(0)
    clean = generate(model, prompt, max_new_tokens=6, **options)[0, 4:].tolist()
    step = next(i for i, token in enumerate(clean) if token not in prompt[0].tolist() + clean[:i])
    with torch.no_grad():
        model.token_embedding.weight[clean[step]] = float("inf")
    if "generator" in options:
        options["generator"] = torch.Generator().manual_seed(0)
    if strategy == "beam":  # other beams may feed the token earlier: only the step bound is sure
        with pytest.raises(NonFiniteLogitsError, match=r"token_embedding \(Embedding\)"):
            generate(model, prompt, max_new_tokens=6, **options)
        return
    with pytest.raises(NonFiniteLogitsError, match=rf"generation step {step + 1}: .*token_embedding \(Embedding\)"):
        generate(model, prompt, max_new_tokens=6, **options)


def test_the_check_is_silent_on_finite_logits_with_minus_inf_entries():
    from scratchformers.generation.nonfinite import logits_are_finite

    logits = torch.tensor([[0.0, float("-inf"), 2.0], [1.0, 1.0, float("-inf")]])
    assert logits_are_finite(logits)
    assert not logits_are_finite(torch.tensor([[0.0, float("nan"), 1.0]]))
    assert not logits_are_finite(torch.tensor([[float("-inf")] * 3]))  # nothing left to pick
    assert not logits_are_finite(torch.tensor([[0.0, float("inf")]]))
