"""Tokenizer checks against the Hugging Face ``tokenizers`` library, generation checks against
hand-counted n-grams."""

from __future__ import annotations

import json

import pytest

from scratchformers.doctor import check_generation, check_tokenizer

tokenizers = pytest.importorskip("tokenizers")

REVIEW = "a gripping, beautifully shot thriller; the ending drags but the cast is superb"


@pytest.fixture(scope="module")
def gpt2_parts(gpt2_tokenizer_dir):
    vocab = json.loads((gpt2_tokenizer_dir / "encoder.json").read_text(encoding="utf-8"))
    lines = (gpt2_tokenizer_dir / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split()) for line in lines[1:] if line and not line.startswith("#")]
    return vocab, merges


def _byte_level_bpe(vocab, merges):
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    return tok


def test_bpe_without_merges_outputs_single_characters(gpt2_parts):
    vocab, merges = gpt2_parts
    good = check_tokenizer(_byte_level_bpe(vocab, merges), [REVIEW] * 3)
    assert good.get("tokenizer.merges").status == "ok"
    broken = check_tokenizer(_byte_level_bpe(vocab, []), [REVIEW] * 3)
    finding = broken.get("tokenizer.merges")
    assert finding.status == "fail" and "merges were not applied" in finding.cause
    # independent count: without merges every non-space character is one token
    chars = len("".join(REVIEW.split()))
    assert f"{chars * 3 / len(_byte_level_bpe(vocab, []).encode(REVIEW).ids) / 3:.2f} characters per token" in finding.message


def test_our_gpt2_tokenizer_passes(gpt2_tokenizer_dir):
    from scratchformers.tokenizers import load_tokenizer

    report = check_tokenizer(load_tokenizer(gpt2_tokenizer_dir), [REVIEW])
    assert report.ok and report.get("tokenizer.merges").status == "ok"


@pytest.mark.parametrize("library", ["hf", "ours"])
def test_unknown_token_rate(minilm_dir, library):
    if library == "hf":
        tok = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    else:
        from scratchformers.tokenizers import load_tokenizer

        tok = load_tokenizer(minilm_dir)
    text = "great movie \U0001f642 loved it \U0001f3ac and \U0001f37f"  # 3 emoji, not in BERT's vocabulary
    reference = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    reference.no_padding()  # this tokenizer.json pads to 128
    n_tokens = len(reference.encode(text, add_special_tokens=False).ids)
    finding = check_tokenizer(tok, [text]).get("tokenizer.unk")
    assert finding.status == "fail"  # 3 of ~9 tokens
    assert f"3/{n_tokens} tokens" in finding.message
    assert check_tokenizer(tok, [REVIEW]).get("tokenizer.unk").status == "ok"


def test_silent_truncation_is_counted(minilm_dir):
    tok = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tok.no_padding()
    texts = ["short one", REVIEW, REVIEW + " " + REVIEW]
    lengths = [len(tok.encode(t, add_special_tokens=False).ids) for t in texts]
    max_length = lengths[1] - 1  # the second and third texts overflow
    lost = (lengths[1] - max_length) + (lengths[2] - max_length)
    finding = check_tokenizer(tok, texts, max_length=max_length).get("tokenizer.truncation")
    assert finding.status == "warn"
    assert f"2/3 texts exceed max_length={max_length}" in finding.message
    assert f"drops {lost}/{sum(lengths)} tokens" in finding.message


def test_truncation_configured_inside_tokenizer_json_is_found(minilm_dir):
    tok = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    assert tok.truncation["max_length"] == 128  # all-MiniLM-L6-v2 ships with truncation at 128
    long_text = " ".join([REVIEW] * 12)
    reference = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    full = len(reference.encode(long_text, add_special_tokens=False).ids)
    assert full > 128
    finding = check_tokenizer(tok, [long_text]).get("tokenizer.truncation")
    assert finding.status == "warn" and f"longest {full}" in finding.message and "max_length=128" in finding.message


def test_repetitive_generation_and_suggested_settings():
    looping = "the cat sat on the mat " * 10  # 60 words, 58 trigrams, 6 distinct
    report = check_generation(looping, n=3, do_sample=False)
    finding = report.get("generation.repetition")
    assert finding.status == "fail"
    assert f"repeated 3-gram rate {1 - 6 / 58:.2f}" in finding.message
    assert "temperature=0.7-0.9" in finding.fix and "top_p=0.9" in finding.fix and "repetition_penalty=1.1-1.3" in finding.fix
    fine = check_generation(REVIEW, n=3)
    assert fine.get("generation.repetition").status == "ok"


def test_temperature_zero_means_greedy():
    finding = check_generation(REVIEW, temperature=0.0, do_sample=True).get("generation.temperature")
    assert finding.status == "warn" and "greedy" in finding.message
    assert check_generation(REVIEW, temperature=0.8, do_sample=True, top_p=0.9).get("generation.temperature").status == "ok"
