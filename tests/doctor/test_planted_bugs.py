"""Each planted bug of the troubleshooting guide is reported as exactly one failure, at the right
module; the same model without the bug passes."""

from __future__ import annotations

import pytest
import torch

from scratchformers.doctor import check_model

# bug -> (the one failing check, the module at fault, words the evidence must contain)
PLANTED = {
    "softmax_dim": ("attention.softmax_axis", "blocks.0.attn", "softmax(dim=-2)"),
    "no_scale": ("attention.scaling", "blocks.0.attn", "multiplied by 1"),
    "leak_one": ("causal_leak", "blocks.0.attn", "see 1 future token"),
    "inverted_mask": ("causal_leak", "blocks.0.attn", "polarity is inverted"),
    "no_pos": ("position_signal", "blocks.0.attn", "no positional table"),
    "pos_after": ("position_signal", "blocks.0.attn", "used only after it"),
    "pos_tiny": ("position_signal", "blocks.0.attn", "too small to matter"),
    "nan_layer": ("nan_inf", "blocks.0.mlp.1", "non-finite"),
    "functional_dropout": ("dropout", "blocks.0.attn", "differ"),
    "kq_transposed": ("attention.score_shape", "blocks.0.attn", "(blocks.0.attn.key) @ (blocks.0.attn.query)^T"),
}


def _failures(report):
    return {f.id for f in report.findings if f.status == "fail"}


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_planted_bug_in_a_decoder_is_the_only_failure(student, ids, bug):
    check_id, module, evidence = PLANTED[bug]
    report = check_model(student(bug), ids, causal=True, pretrained=False)
    assert _failures(report) == {check_id}, str(report)
    finding = report.get(check_id)
    assert finding.module == module
    assert evidence in finding.message
    assert finding.fix and finding.cause
    assert not report.ok


@pytest.mark.parametrize("bug", ["no_pos", "pos_after", "pos_tiny", "softmax_dim", "no_scale"])
def test_planted_bug_in_an_encoder(student, ids, bug):
    check_id, module, evidence = PLANTED[bug]
    report = check_model(student(bug, causal=False), ids, causal=False, pretrained=False)
    assert _failures(report) == {check_id}, str(report)
    assert report.get(check_id).module == module and evidence in report.get(check_id).message


@pytest.mark.parametrize("causal", [True, False])
def test_correct_student_model_has_no_failure_or_warning(student, ids, causal):
    report = check_model(student(None, causal=causal), ids, causal=causal, pretrained=False)
    assert report.ok, str(report)
    assert not report.warnings, str(report)
    assert report.get("attention.softmax_axis").status == "ok"
    assert report.get("attention.scaling").status == "ok"
    assert report.get("position_signal").status == "ok"
    assert report.get("causal_leak").status == ("ok" if causal else "skip")


@pytest.mark.parametrize("layers", [1, 3])
def test_leak_reports_the_first_leaking_position_and_what_it_reads(student, ids, layers):
    finding = check_model(student("leak_one", n_layers=layers), ids, causal=True).get("causal_leak")
    # mask diagonal=2: each layer lets position i see i + 1, so after L layers position 0 reads 1..L
    assert "output at position 0 changes" in finding.message
    assert f"reads token(s) at {list(range(1, layers + 1))}" in finding.message


def test_inverted_mask_nan_is_attributed_to_the_mask(student, ids):
    report = check_model(student("inverted_mask"), ids, causal=True)
    nan = report.get("nan_inf")
    # the last query row masks every key -> NaN; that is a consequence, not a second bug
    assert nan.status == "warn" and "inverted mask" in nan.message


def test_softmax_over_queries_leak_is_a_consequence(student, ids):
    report = check_model(student("softmax_dim"), ids, causal=True)
    assert report.get("causal_leak").status == "warn"
    assert "consequence of attention.softmax_axis" in report.get("causal_leak").message


def test_missing_scale_evidence_matches_hand_computation(student, ids):
    """The reported 'as used' score std is the std of the raw Q K^T of the first attention."""
    model = student("no_scale")
    finding = check_model(model, ids, causal=True).get("attention.scaling")
    captured = {}
    attn = model.blocks[0].attn
    hook = attn.register_forward_hook(lambda m, a, o: captured.setdefault("x", a[0]))
    with torch.no_grad():
        model(ids)
        hook.remove()
        x = captured["x"]
        q, k = attn.heads(attn.query(x)), attn.heads(attn.key(x))
        raw_std = float((q @ k.transpose(-2, -1)).std())
    assert "d_k=8" in finding.message
    assert f"score std {raw_std:.3g} as used" in finding.message
    assert f"vs {raw_std / 8 ** 0.5:.3g} with 1/sqrt(8)" in finding.message


def test_transposed_scores_in_cross_attention(seq2seq, ids):
    src = torch.randint(0, 64, (2, 7), generator=torch.Generator().manual_seed(1))  # Tk=7 != Tq=10
    report = check_model(seq2seq("kq_transposed"), ids, causal=True, forward_kwargs={"src": src}, pretrained=False)
    assert _failures(report) == {"attention.score_shape"}, str(report)
    finding = report.get("attention.score_shape")
    assert finding.module == "decoder.cross"
    assert "(..., 7, 10) = (Tk, Tq)" in finding.message
    assert "K @ Q^T" in finding.cause
    correct = check_model(seq2seq(None), ids, causal=True, forward_kwargs={"src": src}, pretrained=False)
    assert correct.ok, str(correct)


def test_dropout_left_on_at_inference(student, ids):
    model = student(None, dropout=0.1).train()
    report = check_model(model, ids, causal=True, pretrained=False)
    assert _failures(report) == {"dropout"}, str(report)
    assert report.get("dropout").module.endswith(".drop")
    assert model.training, "the doctor must leave the model in the mode it found it"
    model.eval()
    assert check_model(model, ids, causal=True, pretrained=False).ok


def test_sequence_longer_than_positions_and_ids_outside_vocab(student):
    model = student(None)  # max_len 32, vocab 64
    too_long = torch.randint(0, 64, (1, 40))
    report = check_model(model, too_long, causal=True)
    assert _failures(report) == {"inputs.length"}, str(report)
    assert "40 tokens" in report.get("inputs.length").message and "32 positions" in report.get("inputs.length").message
    assert "max_length=32" in report.get("inputs.length").fix
    bad_ids = torch.tensor([[1, 2, 70, 3]])
    report = check_model(model, bad_ids, causal=True)
    assert _failures(report) == {"inputs.vocab"}, str(report)
    assert "[1, 70]" in report.get("inputs.vocab").message


def test_report_renders_as_table_and_json(student, ids):
    import json

    from rich.console import Console

    report = check_model(student("no_scale"), ids, causal=True)
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert {f["id"] for f in data["findings"] if f["status"] == "fail"} == {"attention.scaling"}
    console = Console(record=True, width=200)
    report.print(console)
    text = console.export_text()
    assert "attention.scaling" in text and "1 failure(s)" in text
