"""SmolLM2's byte-level BPE built from GGUF metadata, against HF tokenizers with the same lists."""

from __future__ import annotations

import pytest

from scratchformers.tokenizers import ByteLevelBPETokenizer


@pytest.fixture(scope="module")
def reader(smollm2_gguf):
    from gguf import GGUFReader

    return GGUFReader(str(smollm2_gguf))  # parsed once (seconds), shared


@pytest.fixture(scope="module")
def smollm2(reader):
    return ByteLevelBPETokenizer.from_gguf(reader)


@pytest.fixture(scope="module")
def gguf_lists(reader):
    fields = reader.fields
    return {k: fields[f"tokenizer.ggml.{k}"].contents() for k in ("tokens", "merges", "token_type", "pre")}


def test_metadata_read(smollm2, gguf_lists):
    assert gguf_lists["pre"] == "smollm"
    assert smollm2.vocab_size == len(gguf_lists["tokens"]) == 49152
    assert smollm2.split_digits  # SmolLM2 isolates digits before the GPT-2 regex
    assert smollm2.special_tokens["<|im_start|>"] == 1 and smollm2.eos_token == "<|im_end|>"


def test_ids_equal_hf_tokenizers_built_from_same_lists(smollm2, gguf_lists, rt_texts, adversarial):
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    tokens, types = gguf_lists["tokens"], gguf_lists["token_type"]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ")) for m in gguf_lists["merges"]]
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    # SmolLM2's tokenizer.json pre-tokenizer: Digits(individual) then ByteLevel.
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    hf.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3]
    )
    texts = (
        list(rt_texts)
        + adversarial
        + [
            "<|im_start|>user\nWhat is 1234+5678?<|im_end|>\n<|im_start|>assistant\n",
            "  12  345  year 2024, pi=3.14159",
        ]
    )
    expected = [e.ids for e in hf.encode_batch(texts)]
    mismatches = [t[:60] for t, e in zip(texts, expected) if smollm2.encode(t) != e]
    assert not mismatches
    assert smollm2.decode(expected[-2]) == texts[-2]
