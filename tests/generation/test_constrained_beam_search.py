"""Constrained beam search (``force_words_ids``) against transformers 4.46.3 (recorded: transformers 5
no longer implements it; see reference/record.py), plus hand-checked constraint bookkeeping."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from scratchformers.errors import ConfigError
from scratchformers.generation import generate
from scratchformers.generation.constrained import ConstraintState

REFERENCE = Path(__file__).parent / "reference"
sys.path.insert(0, str(REFERENCE))
from weights import PAD, prompts  # noqa: E402

RECORDED = json.loads((REFERENCE / "constrained_4_46_3.json").read_text())


@pytest.mark.parametrize("case", RECORDED["cases"], ids=[c["name"] for c in RECORDED["cases"]])
def test_constrained_beam_search_matches_transformers_4_46(reference_gpt2, case):
    ids, mask = prompts()
    ids, mask = ids[case["rows"]], mask[case["rows"]]
    out = generate(reference_gpt2, ids, attention_mask=mask, max_new_tokens=RECORDED["meta"]["max_new_tokens"], pad_token_id=PAD,
                   return_dict_in_generate=True, output_scores=True, **case["options"])  # fmt: skip
    assert out.sequences.tolist() == case["sequences"]
    torch.testing.assert_close(out.sequences_scores, torch.tensor(case["sequences_scores"]), atol=1e-5, rtol=1e-5)


def test_recorded_constraints_are_met_somewhere():
    """Not a trivial reference: in the three-phrase case every returned sequence holds all phrases."""
    case = next(c for c in RECORDED["cases"] if c["name"] == "three-phrases-eos-lp")
    for row in case["sequences"]:
        for phrase in case["options"]["force_words_ids"]:
            assert any(row[i : i + len(phrase)] == phrase for i in range(len(row)))


def test_constraint_state_by_hand():
    state = ConstraintState([[5, 6, 7], [9]])
    assert state.next_tokens() == [5, 9] and state.bank() == 0
    state.add(5)
    assert state.next_tokens() == [6] and state.bank() == 1
    state.add(8)  # breaks the phrase off: it goes back to the queue
    assert state.next_tokens() == [9, 5] and state.bank() == 0
    for token in (9, 5, 6):
        state.add(token)
    assert state.bank() == 3 + 2 and not state.completed
    state.add(7)
    assert state.completed and state.bank() == 6
    short = ConstraintState([[5, 6, 7], [9, 8]])
    short.add(9)  # one token of a 2-token phrase: 1 left, so bank = 3 - 1
    assert short.bank() == 2 and short.next_tokens() == [8]


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(num_beams=1, force_words_ids=[[5]]), "num_beams > 1"),
        (dict(num_beams=4, force_words_ids=[[[5], [6]]]), "disjunctive"),
        (dict(num_beams=4, force_words_ids=[[]]), "non-empty"),
        (dict(num_beams=4, force_words_ids=[[5], [960]]), r"token ids \[960\] outside the vocabulary of 96"),
    ],
)
def test_invalid_constraints(reference_gpt2, options, match):
    with pytest.raises(ConfigError, match=match):
        generate(reference_gpt2, prompts()[0], **options)


class _TorchSpy:
    """``torch`` with ``tensor`` recording the device each call asked for (None: the default, the CPU)."""

    def __init__(self):
        self.devices = []

    def __getattr__(self, name):
        return getattr(torch, name)

    def tensor(self, data, *args, **kwargs):
        self.devices.append(kwargs.get("device"))
        return torch.tensor(data, *args, **kwargs)


def test_constrained_step_tensors_follow_the_scores_device(reference_gpt2, monkeypatch):
    """Without a GPU: every index tensor the step builds is created on the scores' device (a CPU
    default next to CUDA scores is a device-mismatch error), so each torch.tensor call names one."""
    from scratchformers.generation import constrained

    spy = _TorchSpy()
    monkeypatch.setattr(constrained, "torch", spy)
    case = RECORDED["cases"][0]
    ids, mask = prompts()
    generate(reference_gpt2, ids[case["rows"]], attention_mask=mask[case["rows"]], max_new_tokens=4, pad_token_id=PAD,
             **case["options"])  # fmt: skip
    assert spy.devices and all(d is not None and torch.device(d) == ids.device for d in spy.devices)
