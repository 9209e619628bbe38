"""SmolLM2's byte-level BPE built from GGUF metadata, against HF tokenizers with the same lists
and against transformers loading the tokenizer from the same GGUF file."""

from __future__ import annotations

import random

import pytest

from scratchformers.checkpoints.gguf import read_metadata
from scratchformers.errors import ConfigError
from scratchformers.tokenizers import load_tokenizer, tokenizer_from_gguf


@pytest.fixture(scope="module")
def reader(smollm2_gguf):
    from gguf import GGUFReader

    return GGUFReader(str(smollm2_gguf))  # parsed once (seconds), shared


@pytest.fixture(scope="module")
def metadata(reader):
    return read_metadata(reader)


@pytest.fixture(scope="module")
def smollm2(metadata):
    return tokenizer_from_gguf(metadata)


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


@pytest.fixture(scope="module")
def reference(smollm2_gguf):
    """transformers' own GGUF tokenizer conversion of the same file (HF tokenizers underneath).

    One correction: transformers 5.x ignores ``tokenizer.ggml.pre = "smollm"`` and keeps the plain
    ByteLevel pre-tokenizer, so "42" becomes one token; SmolLM2's own tokenizer.json and llama.cpp
    isolate each digit first (see the test above), so the reference gets that Digits step too.
    """
    from transformers import AutoTokenizer

    from tokenizers import pre_tokenizers

    hf = AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name).backend_tokenizer
    assert hf.pre_tokenizer.__class__.__name__ == "ByteLevel"  # what is being corrected
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    return hf


def _random_strings(n: int, seed: int = 0) -> list[str]:
    """Short strings mixing ASCII, control characters, Latin-1, BMP and non-BMP code points."""
    rng = random.Random(seed)
    pools = [
        lambda: chr(rng.randrange(0x20, 0x7F)),
        lambda: chr(rng.choice([*range(0x00, 0x20), 0x7F])),
        lambda: chr(rng.randrange(0xA0, 0x100)),
        lambda: chr(rng.choice([rng.randrange(0x100, 0xD800), rng.randrange(0xE000, 0x10000)])),
        lambda: chr(rng.randrange(0x10000, 0x110000)),
        lambda: rng.choice([" ", "  ", "\n", "the", " cat", "42", "<|im_end|>"]),
    ]
    return ["".join(rng.choice(pools)() for _ in range(rng.randrange(0, 24))) for _ in range(n)]


def test_bytes_missing_from_the_vocabulary_match_the_reference(metadata, reference):
    """SmolLM2's GGUF vocabulary lacks 21 byte tokens (0x04, 0x16, ...). HF drops such a byte
    before merging (its neighbours may merge); ``unknown_bytes="skip"`` gives exactly its ids, the
    default gives a clear error naming the byte (where the reference silently loses it)."""
    skip = tokenizer_from_gguf(metadata, unknown_bytes="skip")
    strict = tokenizer_from_gguf(metadata)
    assert {0x04, 0x16} <= skip.missing_bytes
    texts = _random_strings(1500) + ["\x16", "!\x14'", "a\x16b", "th\x16\x16e", "\U00041234x"]
    expected = [e.ids for e in reference.encode_batch(texts, add_special_tokens=False)]
    assert [skip.encode(t) for t in texts] == expected
    lacking = 0
    for text, ids in zip(texts, expected):
        missing = sorted(set(text.encode("utf-8")) & skip.missing_bytes)
        if not missing:
            assert strict.encode(text) == ids
            continue
        lacking += 1
        assert reference.decode(ids) != text  # the reference cannot encode it either
        with pytest.raises(ConfigError, match="has no token in this vocabulary") as err:
            strict.encode(text)
        assert any(f"byte 0x{b:02x} " in str(err.value) for b in missing)
        assert "unknown_bytes='skip'" in str(err.value)
    assert lacking > 50  # the generator does reach the missing bytes


def test_checkpoint_layer_reads_the_gguf_and_tokenizers_refuse_it_clearly(smollm2_gguf, smollm2):
    from scratchformers.hub import load_tokenizer_for

    via_hub = load_tokenizer_for(smollm2_gguf)
    assert via_hub.get_vocab() == smollm2.get_vocab() and via_hub.merges == smollm2.merges
    with pytest.raises(ConfigError, match="load_tokenizer_for"):
        load_tokenizer(smollm2_gguf)
