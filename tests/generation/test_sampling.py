"""Sampling draws from the filtered softmax: a chi-square goodness-of-fit test with a fixed seed.

The expected distribution is built with transformers' warpers on the model's own next-token
logits, independently of our processors.
"""

from __future__ import annotations

import math

import pytest
import torch
from transformers.generation import logits_process as hf

from scratchformers.generation import generate

DRAWS = 8_000


def chi2_critical(df: int, z: float = 3.719) -> float:
    """Upper critical value of chi-square(df) at p = 1e-4 (Wilson-Hilferty approximation)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize(
    "options",
    [
        dict(top_k=8),
        dict(temperature=3.0, top_k=8),
        dict(temperature=3.0, top_p=0.3),
        dict(temperature=3.0, top_k=20, top_p=0.6),
        dict(temperature=3.0, min_p=0.1),
    ],
    ids=["top_k", "temp-top_k", "temp-top_p", "temp-top_k-top_p", "temp-min_p"],
)
def test_sampled_distribution_matches_filtered_softmax(gpt_pair, options):
    hf_model, ours = gpt_pair
    prompt = torch.tensor([[17, 250, 31, 402]])
    with torch.no_grad():
        logits = hf_model(prompt).logits[:, -1].float()
    warpers = hf.LogitsProcessorList()
    if "temperature" in options:
        warpers.append(hf.TemperatureLogitsWarper(options["temperature"]))
    if "top_k" in options:
        warpers.append(hf.TopKLogitsWarper(options["top_k"]))
    if "top_p" in options:
        warpers.append(hf.TopPLogitsWarper(options["top_p"]))
    if "min_p" in options:
        warpers.append(hf.MinPLogitsWarper(options["min_p"]))
    expected = warpers(prompt, logits).softmax(-1)[0]  # (vocab,)
    kept = expected > 0
    assert 2 <= int(kept.sum()) < 100  # a real filter with several survivors

    g = torch.Generator().manual_seed(0)
    out = generate(ours, prompt.expand(DRAWS, -1), max_new_tokens=1, do_sample=True, generator=g, **options)
    counts = torch.bincount(out[:, -1], minlength=expected.numel()).double()

    assert counts[~kept].sum() == 0  # never a token outside the kept set
    expected_counts = expected[kept].double() * DRAWS
    chi2 = float(((counts[kept] - expected_counts) ** 2 / expected_counts).sum())
    df = int(kept.sum()) - 1
    assert chi2 < chi2_critical(df), f"chi2={chi2:.1f} with df={df}"


def test_chi_square_check_rejects_a_wrong_distribution(gpt_pair):
    # The statistic above is able to fail: samples at temperature 1.5 do not fit temperature 1.
    hf_model, ours = gpt_pair
    prompt = torch.tensor([[17, 250, 31, 402]])
    with torch.no_grad():
        logits = hf_model(prompt).logits[:, -1].float()
    expected = hf.TopKLogitsWarper(8)(prompt, logits).softmax(-1)[0]
    kept = expected > 0
    g = torch.Generator().manual_seed(0)
    out = generate(ours, prompt.expand(DRAWS, -1), max_new_tokens=1, do_sample=True, temperature=1.5, top_k=8, generator=g)
    counts = torch.bincount(out[:, -1], minlength=expected.numel()).double()
    expected_counts = expected[kept].double() * counts[kept].sum()
    chi2 = float(((counts[kept] - expected_counts) ** 2 / expected_counts).sum())
    assert chi2 > chi2_critical(int(kept.sum()) - 1)
