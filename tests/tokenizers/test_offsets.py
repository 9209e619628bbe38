"""Offsets, word ids and calling semantics equal HF ``tokenizers`` on the same vocabularies."""

from __future__ import annotations

import pytest

from scratchformers.tokenizers import BPETokenizer, WordLevelTokenizer, load_gpt2_files, load_vocab_txt

HARD = [
    "Héllo Wörld! Ça va? naïve café résumé ÀÉÎÕÜ",
    "北京欢迎你，東京タワー and 한국어 텍스트",
    "don't stop—won't! (yes) [no] {x} $5.00 #tag @me 50% a+b=c «quotes» ¿qué?",
    "ΣΑΣ ΟΔΟΣ Ǆ ǅ ǆ ﬁ ß ẞ İstanbul",
    "tab\there\x00null\ufffdrepl\u200bzero-width\x07bell\r\nwindows",
    "\u00a0nbsp\u2028line sep\u3000ideographic space",
    "emoji 😀 👍🏽 🇫🇷 e\u0301 a\u0308\u0301",
    "special tokens in text: [CLS] a[SEP]b [MASK][PAD] <|endoftext|>x",
    "a" * 150,
]


@pytest.fixture(scope="module")
def texts(rt_texts, adversarial):
    return list(rt_texts[:400]) + HARD + adversarial


def _hf(directory):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(directory / "tokenizer.json"))
    hf.no_padding()
    hf.no_truncation()
    return hf


def _assert_same(ours, hf, texts, pairs=None):
    for i, text in enumerate(texts):
        pair = pairs[i] if pairs else None
        theirs = hf.encode(text, pair)
        mine = ours(text, pair, return_offsets_mapping=True)
        assert mine["input_ids"] == theirs.ids, text
        assert mine["offset_mapping"] == theirs.offsets, text
        assert mine.word_ids() == theirs.word_ids, text
        assert mine.tokens() == theirs.tokens, text
        if pair is None:
            assert mine["input_ids"] == ours.encode(text), text  # the fast path agrees


def test_wordpiece_offsets_equal_hf_minilm(minilm_dir, texts):
    ours = load_vocab_txt(minilm_dir / "vocab.txt", lowercase=True)
    hf = _hf(minilm_dir)
    _assert_same(ours, hf, texts)
    _assert_same(ours, hf, texts[:50], pairs=texts[50:100])


def test_byte_level_offsets_equal_hf_gpt2(gpt2_tokenizer_dir, texts, tmp_path):
    ours = load_gpt2_files(gpt2_tokenizer_dir)
    hf = _hf(ours.save(tmp_path))
    _assert_same(ours, hf, texts)


def test_byte_level_lowercase_offsets_equal_hf(gpt2_tokenizer_dir, texts, tmp_path):
    from tokenizers import normalizers

    ours = load_gpt2_files(gpt2_tokenizer_dir)
    ours.lowercase = True
    hf = _hf(ours.save(tmp_path))
    hf.normalizer = normalizers.Lowercase()  # also what our tokenizer.json says
    _assert_same(ours, hf, texts)


def test_word_level_offsets_equal_hf(rt_texts, texts, tmp_path):
    for lowercase in (False, True):
        ours = WordLevelTokenizer.train(list(rt_texts[:1500]), 800, lowercase=lowercase, show_progress=False)
        _assert_same(ours, _hf(ours.save(tmp_path / str(lowercase))), texts)


def test_classic_bpe_offsets_by_hand():
    tok = BPETokenizer.train(["low, lower! lowest newer wider"] * 5, 40, show_progress=False)
    text = "Newer, lowest!"
    out = tok(text, return_offsets_mapping=True)
    symbols = [tok.id_to_token(i).replace("</w>", "") for i in out["input_ids"]]
    assert symbols[0] == "[UNK]" and out["offset_mapping"][0] == (0, 1)  # "N" was never seen
    # every other token spans exactly its symbol's characters, and the tokens tile each word
    assert [text[s:e] for s, e in out["offset_mapping"][1:]] == symbols[1:]
    starts = {0: 0, 1: 5, 2: 7, 3: 13}  # "Newer" "," "lowest" "!" by hand
    for word, (s, e) in zip(out.word_ids(), out["offset_mapping"]):
        assert s >= starts[word] and e <= starts[word] + len(["Newer", ",", "lowest", "!"][word])
    assert "".join(text[s:e] for s, e in out["offset_mapping"]) == "Newer,lowest!"


def test_classic_bpe_special_and_added_tokens_are_one_id_on_both_paths():
    tok = BPETokenizer.train(["low, lower! lowest newer wider"] * 5, 40, show_progress=False)
    tok.add_tokens(["wider newer"])
    text = "low[SEP]wider newer!"
    ids = tok.encode(text)
    assert ids[1] == tok.sep_token_id and tok.id_to_token(ids[-2]) == "wider newer"
    out = tok(text, return_offsets_mapping=True)
    assert out.input_ids == ids
    assert out.offset_mapping[1] == (3, 8) and out.offset_mapping[-2] == (8, 19)


def test_byte_level_pretokenized_equals_hf(gpt2_tokenizer_dir, tmp_path):
    ours = load_gpt2_files(gpt2_tokenizer_dir)
    hf = _hf(ours.save(tmp_path))
    words = ["Hello", " world", "naïve😀", "x<|endoftext|>y"]
    theirs = hf.encode(words, is_pretokenized=True)
    mine = ours(words, is_split_into_words=True, return_offsets_mapping=True)
    assert mine.input_ids == theirs.ids and mine.offset_mapping == theirs.offsets
    assert mine.word_ids() == theirs.word_ids


def test_byte_level_surrogates_offsets_and_ids_as_encode(gpt2_tokenizer_dir):
    """Surrogates are fixed up after lower-casing on both paths (as encode does), and a pair's
    character maps back to both its code units (regression: offsets were one character early
    after a pair; lowercase=True encoded "x\\ud801\\udc00y" differently on the two paths)."""
    from scratchformers.tokenizers import ByteLevelBPETokenizer

    gpt2 = load_gpt2_files(gpt2_tokenizer_dir)
    text = "\ud83d\ude00 ab"
    out = gpt2(text, return_offsets_mapping=True)
    assert out.input_ids == gpt2.encode(text) == gpt2.encode("😀 ab")
    assert out.offset_mapping[-1] == (2, 5) and text[2:5] == " ab"
    assert {span for span in out.offset_mapping[:-1]} == {(0, 2)}  # both tokens of the emoji
    lone = "a\udc00b"
    out = gpt2(lone, return_offsets_mapping=True)
    assert out.input_ids == gpt2.encode(lone)
    assert [lone[s:e] for s, e in out.offset_mapping][0] == "a" and out.offset_mapping[-1] == (2, 3)

    lower = ByteLevelBPETokenizer(gpt2.vocab, gpt2.merges, gpt2.special_tokens, lowercase=True)
    for text in ("x\ud801\udc00y", "AB \ud801\udc00 CD\ud83d\ude00é"):
        out = lower(text, return_offsets_mapping=True)
        assert out.input_ids == lower.encode(text)
        assert out.offset_mapping[-1][1] == len(text)
    out = lower("x\ud801\udc00y", return_offsets_mapping=True)
    assert out.offset_mapping[0] == (0, 1) and out.offset_mapping[-1] == (3, 4)


def test_offsets_reuse_the_word_cache_of_encode(minilm_dir, monkeypatch):
    """Classic BPE and WordPiece offsets take each word's ids from the cache encode fills (no
    second run of the merges / greedy match), with the same ids and spans as before."""
    from scratchformers.tokenizers import bpe

    tok = BPETokenizer.train(["low, lower! lowest newer wider"] * 5, 40, show_progress=False)
    text = "Newer, lowest! wider zq"
    ids = tok.encode(text)
    monkeypatch.setattr(bpe, "apply_merges", lambda *a: pytest.fail("merges rerun for the offsets"))
    out = tok(text, return_offsets_mapping=True)
    assert out.input_ids == ids
    assert [text[s:e] for s, e in out.offset_mapping] == [
        tok.id_to_token(i).replace("</w>", "") if i != tok.unk_token_id else text[s:e]
        for i, (s, e) in zip(ids, out.offset_mapping)
    ]
    assert out.offset_mapping[0] == (0, 1)  # N: unknown
    assert out.offset_mapping[-3:] == [(21, 22), (22, 23), (23, 23)]  # z, q unknown; a lone </w> adds none

    bert = load_vocab_txt(minilm_dir / "vocab.txt")
    text = "Héllo unaffable worlds!"
    ids = bert.encode(text, add_special_tokens=False)
    monkeypatch.setattr(bert, "_wordpiece", lambda word: pytest.fail("greedy match rerun for the offsets"))
    out = bert(text, return_offsets_mapping=True, add_special_tokens=False)
    assert out.input_ids == ids and out.offset_mapping[0] == (0, 5)
