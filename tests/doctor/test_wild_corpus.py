"""The doctor on code written the way people write it (issue 14).

Seven small implementations in the common styles (``tests/doctor/wild/``, written here) and Hugging
Face GPT-2 / BERT / Llama (GQA) from small configs: the correct models give no failure and never
crash the doctor; each bug class of the troubleshooting guide, planted by editing an
implementation's source text (``wild/harness.py``), is found at fail level under the right
finding id. Each class test prints its row of the table (run with ``-s``); ``bench/doctor.py
--wild`` prints the whole before/after table.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

from scratchformers.doctor import check_model

_spec = importlib.util.spec_from_file_location("wild_harness", pathlib.Path(__file__).parent / "wild" / "harness.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules["wild_harness"] = harness  # dataclasses look their module up by name
_spec.loader.exec_module(harness)

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


def _failures(report):
    return {f.id for f in report.findings if f.status == "fail"}


@pytest.mark.parametrize(("style", "options", "seed", "example_options"), harness.CORRECT,
                         ids=[f"{s}-{i}" for i, (s, *_rest) in enumerate(harness.CORRECT)])
def test_correct_corpus_model_has_no_failure(style, options, seed, example_options):
    module = harness.load(style)
    report = harness.check(module, module.build(seed, **options), seed, example_options=example_options)
    assert report.ok, str(report)
    skipped_by_error = [f for f in report.findings if f.status == "skip" and "could not run" in f.message]
    assert not skipped_by_error, str(report)
    assert report.get("attention.softmax_axis").status == "ok"
    if module.CAUSAL:  # every decoder's leak check really ran (hidden states watched)
        assert report.get("causal_leak").status == "ok", str(report)


@pytest.mark.parametrize(("kind", "seed", "attn"), harness.HF)
def test_correct_hugging_face_model_has_no_failure(kind, seed, attn):
    model, causal, kwargs = harness.build_hf(kind, seed, attn)
    report = check_model(model, harness.hf_ids(seed), causal=causal, forward_kwargs=kwargs, pretrained=False)
    assert report.ok, str(report)
    assert not [f for f in report.findings if f.status == "skip" and "could not run" in f.message], str(report)


def test_corpus_size():
    assert len(harness.MUTANTS) >= 60
    assert len({m.style for m in harness.MUTANTS}) >= 6
    assert len(harness.CORRECT) + len(harness.HF) >= 18
    assert {m.bug for m in harness.MUTANTS} == set(harness.CLASSES)


@pytest.mark.parametrize("bug", sorted(harness.CLASSES))
def test_bug_class_is_found_at_fail_level(bug):
    mutants = [m for m in harness.MUTANTS if m.bug == bug]
    found, single, missed = 0, 0, []
    for mutant in mutants:
        report = harness.run_mutant(mutant)  # a crash of the doctor fails the test here
        failures = _failures(report)
        if mutant.expect & failures:
            found += 1
            single += len(failures) == 1  # root cause first: the bug is the only failure
        else:
            missed.append(f"{mutant.style} {mutant.options}: {sorted(failures)}")
    print(f"\n| {harness.CLASSES[bug]} | {found}/{len(mutants)} | one failure: {single}/{found} |")
    assert found >= 0.9 * len(mutants), missed
    assert single >= 0.9 * found, "consequences reported as failures next to the root cause"


def test_findings_name_the_module_and_the_users_line():
    mutant = next(m for m in harness.MUTANTS if m.bug == "head_merge" and m.style == "gpt_fused")
    text = harness.source(mutant.style)
    for old, new in mutant.edits:
        text = text.replace(old, new)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "out.contiguous().view(B, T, C)" in row)
    finding = harness.run_mutant(mutant).get("attention.head_merge")
    assert finding.status == "fail" and finding.module == "transformer.h.0.attn"
    assert f"gpt_fused.py:{line}" in finding.message and finding.fix
