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
import torch

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


def _zoo():
    t = transformers
    small = {"vocab_size": 64}
    return {
        "distilbert": (t.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, **small), t.DistilBertModel),
        "roberta": (t.RobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                    max_position_embeddings=40, **small), t.RobertaModel),
        "gpt_neox": (t.GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                     **small), t.GPTNeoXForCausalLM),
        "opt": (t.OPTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64, word_embed_proj_dim=32,
                            **small), t.OPTForCausalLM),
        "mistral": (t.MistralConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                    intermediate_size=64, **small), t.MistralForCausalLM),
        "phi": (t.PhiConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **small),
                t.PhiForCausalLM),
        "gptj": (t.GPTJConfig(n_embd=32, n_layer=2, n_head=4, rotary_dim=4, **small), t.GPTJForCausalLM),
        "falcon": (t.FalconConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, **small), t.FalconForCausalLM),
        "bloom": (t.BloomConfig(hidden_size=32, n_layer=2, n_head=4, **small), t.BloomForCausalLM),
    }


@pytest.mark.parametrize("name", ["distilbert", "roberta", "gpt_neox", "opt", "mistral", "phi", "gptj", "falcon", "bloom"])
def test_more_hugging_face_architectures_have_no_failure(name):
    """Parallel attention/MLP blocks (GPT-J, Phi, Falcon: one LayerNorm), ALiBi with the scale as
    baddbmm's alpha (BLOOM), learned offsets (OPT), partial rotary (NeoX): real code the doctor was
    not written against."""
    config, cls = _zoo()[name]
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    report = check_model(cls(config).eval(), harness.hf_ids(0), pretrained=False)
    assert report.ok, str(report)
