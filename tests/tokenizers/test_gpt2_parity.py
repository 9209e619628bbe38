"""Our GPT-2 tokenizer against tiktoken and HF GPT2TokenizerFast on real text: ids identical."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchformers.errors import ConfigError


def test_gpt2_files_load_with_eot(gpt2):
    assert gpt2.vocab_size == 50257
    assert len(gpt2.merges) == 50000
    assert gpt2.special_tokens == {"<|endoftext|>": 50256}
    assert gpt2.eos_token_id == gpt2.bos_token_id == 50256


def test_ids_equal_tiktoken_on_rt_corpus_and_adversarial(gpt2, tiktoken_gpt2, rt_texts, adversarial):
    enc = tiktoken_gpt2()
    corpus = "\n".join(rt_texts)
    assert gpt2.encode(corpus) == enc.encode_ordinary(corpus)  # the whole corpus as one text
    for text in adversarial:
        assert gpt2.encode(text) == enc.encode_ordinary(text), repr(text[:50])


def test_ids_equal_hf_gpt2_fast(gpt2, gpt2_tokenizer_dir, rt_texts, adversarial, tmp_path):
    from transformers import GPT2TokenizerFast

    (tmp_path / "vocab.json").write_bytes((gpt2_tokenizer_dir / "encoder.json").read_bytes())
    (tmp_path / "merges.txt").write_bytes((gpt2_tokenizer_dir / "vocab.bpe").read_bytes())
    hf = GPT2TokenizerFast.from_pretrained(str(tmp_path))
    texts = list(rt_texts) + adversarial + ["Hello<|endoftext|>World <|endoftext|>"]
    expected = hf(texts)["input_ids"]
    ours = [gpt2.encode(t) for t in texts]
    mismatches = [t[:60] for t, a, b in zip(texts, ours, expected) if a != b]
    assert not mismatches


@pytest.mark.parametrize("name", ["cl100k", "o200k"])
def test_selectable_patterns_match_tiktoken(name, gpt2_tokenizer_dir, tiktoken_gpt2, rt_texts, adversarial):
    """GPT-2's merges with the cl100k/o200k regex: the same ids as tiktoken with that regex."""
    from scratchformers.tokenizers import load_gpt2_files

    enc = tiktoken_gpt2(name)
    tok = load_gpt2_files(gpt2_tokenizer_dir, pattern=name)
    for text in list(rt_texts[:2000]) + adversarial:
        assert tok.encode(text) == enc.encode_ordinary(text), repr(text[:50])


def test_decode_round_trips_and_matches_tiktoken(gpt2, tiktoken_gpt2, adversarial):
    enc = tiktoken_gpt2()
    for text in adversarial:
        ids = gpt2.encode(text)
        assert gpt2.decode(ids) == text
        assert gpt2.decode(ids) == enc.decode(ids)
    # a cut inside a multi-byte character decodes with U+FFFD, like tiktoken
    ids = gpt2.encode("😀")
    assert gpt2.decode(ids[:1]) == enc.decode(ids[:1])


def test_special_token_policy(gpt2, tiktoken_gpt2):
    text = "a<|endoftext|>b"
    enc = tiktoken_gpt2()
    # default (like HF): one id
    assert gpt2.encode(text) == enc.encode(text, allowed_special="all")
    assert 50256 in gpt2.encode(text)
    # as ordinary text (tiktoken's encode_ordinary)
    assert gpt2.encode(text, allowed_special="none") == enc.encode_ordinary(text)
    assert 50256 not in gpt2.encode(text, allowed_special="none")
    # tiktoken's default safety check: raise on special text in untrusted input
    with pytest.raises(ConfigError, match="<\\|endoftext\\|>"):
        gpt2.encode(text, allowed_special="none", disallowed_special="all")
    with pytest.raises(ValueError):
        enc.encode(text)  # the reference raises too
    with pytest.raises(ConfigError, match="not special tokens"):
        gpt2.encode(text, allowed_special={"<|nope|>"})
    assert gpt2.decode(gpt2.encode(text), skip_special_tokens=True) == "ab"


def test_tiktoken_rank_file_loads(gpt2, gpt2_ranks, tiktoken_gpt2, rt_texts, tmp_path, monkeypatch):
    """A .tiktoken rank file -> the same merges and ids."""
    import base64

    from tiktoken.load import load_tiktoken_bpe

    from scratchformers.tokenizers import load_tokenizer

    path = tmp_path / "gpt2.tiktoken"
    lines = [f"{base64.b64encode(token).decode()} {rank}" for token, rank in gpt2_ranks.items()]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache writes
    assert load_tiktoken_bpe(str(path)) == gpt2_ranks  # tiktoken reads the file as we wrote it
    tok = load_tokenizer(path)
    assert tok.merges == gpt2.merges  # the recovered merges are GPT-2's vocab.bpe, in order
    enc = tiktoken_gpt2()
    for text in rt_texts[:500]:
        assert tok.encode(text) == enc.encode_ordinary(text)


@pytest.mark.parametrize("option", ["add_prefix_space", "ignore_merges"])
def test_tokenizer_json_options_match_hf(option, gpt2, rt_texts, adversarial, tmp_path):
    """GPT-2 with ByteLevel(add_prefix_space) / BPE(ignore_merges), as HF tokenizers reads them."""
    import json

    from scratchformers.tokenizers import ByteLevelBPETokenizer, load_tokenizer_json, to_tokenizer_json
    from tokenizers import Tokenizer

    tok = ByteLevelBPETokenizer(gpt2.get_vocab(), gpt2.merges, gpt2.special_tokens, **{option: True})
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(to_tokenizer_json(tok)), encoding="utf-8")
    hf = Tokenizer.from_file(str(path))
    again = load_tokenizer_json(path)
    assert getattr(again, option)
    texts = list(rt_texts[:1000]) + adversarial + ["a<|endoftext|>b", "Hello"]
    expected = [e.ids for e in hf.encode_batch(texts)]
    assert [again.encode(t) for t in texts] == expected
    if option == "add_prefix_space":
        assert expected[-1] == gpt2.encode(" Hello")


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_ids_equal_tiktoken_on_arbitrary_unicode(gpt2, tiktoken_r50k, text):
    assert gpt2.encode_ordinary(text) == tiktoken_r50k.encode_ordinary(text)
