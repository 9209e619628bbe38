"""The ``tokenizer.json`` our ``save`` writes: HF ``tokenizers``/``transformers`` load it and get our ids."""

from __future__ import annotations

import json

import pytest

from scratchformers.tokenizers import (
    BPETokenizer,
    WordLevelTokenizer,
    load_tokenizer,
    load_vocab_txt,
)

HARD = [
    "Héllo Wörld! Ça va? naïve café résumé ÀÉÎÕÜ",  # accents
    "北京欢迎你，東京タワー and 한국어 텍스트",  # CJK ideographs, kana, hangul
    "don't stop—won't! (yes) [no] {x} $5.00 #tag @me 50% a+b=c ~/~ «quotes» ¿qué? ¡sí!",
    "a" * 150,  # longer than max_input_chars_per_word -> [UNK]
    "x" * 100,  # exactly 100 -> still word-pieced
    "un" + "believable" * 12,
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "ΣΑΣ ΟΔΟΣ Ǆ ǅ ǆ ﬁ ß ẞ İstanbul",  # per-character lower-casing
    "tab\there\x00null\ufffdrepl\u200bzero-width\x07bell\r\nwindows",
    "\u00a0nbsp\u2028line sep\u3000ideographic space",
    "² ½ ⅻ ٣ a_b a‿b x\u200cy x\u200dy 𝟘",  # where Oniguruma's \w differs from Python's
    "emoji 😀 👍🏽 🇫🇷",
    "special tokens in text: [CLS] a[SEP]b [MASK][PAD] [UNK] [sep] [ SEP ]",
    "",
    "   ",
]


@pytest.fixture(scope="module")
def texts(rt_texts):
    return list(rt_texts[:2000]) + HARD


@pytest.fixture(scope="module")
def bert_saved(minilm_dir, tmp_path_factory):
    tok = load_vocab_txt(minilm_dir / "vocab.txt", lowercase=True)
    return tok, tok.save(tmp_path_factory.mktemp("wordpiece"))


def _hf(directory):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(directory / "tokenizer.json"))


# ----- WordPiece ------------------------------------------------------------------------------------
def test_wordpiece_json_ids_equal_tokenizers_library(bert_saved, texts):
    ours, directory = bert_saved
    hf = _hf(directory)
    for add in (True, False):
        theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=add)]
        assert theirs == [ours.encode(t, add_special_tokens=add) for t in texts]


def test_wordpiece_json_pairs_and_truncation_equal(bert_saved, rt_texts):
    ours, directory = bert_saved
    hf = _hf(directory)
    firsts, seconds = list(rt_texts[:300]) + HARD, list(rt_texts[300:600]) + HARD[::-1]
    for a, b, enc in zip(firsts, seconds, hf.encode_batch(list(zip(firsts, seconds)))):
        pair = ours.encode_pair(a, b)
        assert (enc.ids, enc.type_ids) == (pair["input_ids"], pair["token_type_ids"])
    hf.enable_truncation(max_length=24)  # HF's longest_first strategy, as ours
    batch = ours.encode_batch(firsts, seconds, truncation=True, max_length=24)
    encs = hf.encode_batch(list(zip(firsts, seconds)))
    assert [e.ids for e in encs] == batch["input_ids"]
    assert [e.type_ids for e in encs] == batch["token_type_ids"]


def test_wordpiece_json_matches_the_real_minilm_file(bert_saved, minilm_dir):
    """Every part we write equals the tokenizer.json that ships with all-MiniLM-L6-v2."""
    _, directory = bert_saved
    ours = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
    real = json.loads((minilm_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for part in ("added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"):
        assert ours[part] == real[part], part


@pytest.mark.parametrize(("lowercase", "strip_accents"), [(False, None), (False, True), (True, False)])
def test_wordpiece_json_carries_normalizer_flags(minilm_dir, tmp_path, lowercase, strip_accents, rt_texts):
    ours = load_vocab_txt(
        minilm_dir / "vocab.txt", lowercase=lowercase, strip_accents=strip_accents
    )
    hf = _hf(ours.save(tmp_path))
    texts = list(rt_texts[:200]) + HARD
    assert [e.ids for e in hf.encode_batch(texts)] == [ours.encode(t) for t in texts]
    assert load_tokenizer(tmp_path).encode(HARD[0]) == ours.encode(HARD[0])


def test_wordpiece_folder_loads_in_transformers(bert_saved, rt_texts):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    ours, directory = bert_saved
    texts, pairs = list(rt_texts[:64]) + HARD, list(rt_texts[64:128]) + HARD
    auto = AutoTokenizer.from_pretrained(str(directory))
    got = auto(texts, pairs, padding=True, truncation=True, max_length=40)
    want = ours.encode_batch(texts, pairs, padding=True, truncation=True, max_length=40)
    assert {k: got[k] for k in want} == want
    assert [auto.decode(ours.encode(t)) for t in texts] == [ours.decode(ours.encode(t)) for t in texts]
    fast = PreTrainedTokenizerFast(tokenizer_file=str(directory / "tokenizer.json"))
    assert [fast(t)["input_ids"] for t in texts] == [ours.encode(t) for t in texts]


# ----- WordLevel ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lowercase", [False, True])
def test_wordlevel_json_ids_equal_tokenizers_library(rt_texts, texts, tmp_path, lowercase):
    ours = WordLevelTokenizer.train(rt_texts[:4000], 5000, lowercase=lowercase, show_progress=False)
    ours.vocab.setdefault("σας", len(ours.vocab))  # would catch str.lower()'s final sigma
    ours = WordLevelTokenizer(ours.vocab, list(ours.special_tokens), lowercase)
    hf = _hf(ours.save(tmp_path))
    assert [e.ids for e in hf.encode_batch(texts)] == [ours.encode(t) for t in texts]
    ids = ours.encode(rt_texts[0] + " [SEP] zzzunknownzzz")
    assert hf.decode(ids, skip_special_tokens=False) == ours.decode(ids)


def test_wordlevel_json_agrees_on_every_assigned_code_point(rt_texts, tmp_path):
    """Python's `regex` and Oniguruma split the same way on every assigned character."""
    import unicodedata

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"])}
    ours = WordLevelTokenizer(vocab, lowercase=True)
    hf = _hf(ours.save(tmp_path))
    chars = [chr(cp) for cp in range(0x30000) if unicodedata.category(chr(cp)) not in ("Cn", "Cs")]
    texts = [f"a{c}b {c}{c}a" for c in chars]
    assert [e.ids for e in hf.encode_batch(texts)] == [ours.encode(t) for t in texts]


# ----- loading our folders --------------------------------------------------------------------------
def test_load_tokenizer_prefers_our_meta_over_tokenizer_json(rt_texts, tmp_path):
    word = WordLevelTokenizer.train(rt_texts[:500], 800, show_progress=False)
    bpe = BPETokenizer.train(rt_texts[:500], 400, show_progress=False)
    word.save(tmp_path / "word")
    bpe.save(tmp_path / "bpe")
    assert (tmp_path / "word" / "tokenizer.json").is_file()  # an HF file we cannot load ourselves
    loaded = load_tokenizer(tmp_path / "word")
    assert type(loaded) is WordLevelTokenizer
    assert [loaded.encode(t) for t in rt_texts[:50]] == [word.encode(t) for t in rt_texts[:50]]
    assert type(load_tokenizer(tmp_path / "bpe")) is BPETokenizer
