"""WordPiece against HF BertTokenizerFast on the real MiniLM (BERT uncased) vocabulary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchformers.tokenizers import WordPieceTokenizer, load_vocab_txt

BERT_HARD = [
    "Héllo Wörld! Ça va? naïve café résumé",  # accents stripped (uncased)
    "北京欢迎你 and 東京タワー",  # CJK ideographs become single tokens
    "a" * 150,  # longer than 100 characters -> [UNK]
    "x" * 100,  # exactly 100 -> still word-pieced
    "un" + "believable" * 12,
    "ΣΑΣ ΟΔΟΣ",  # per-character lower-casing (no final sigma)
    "tab\there\x00null\ufffdrepl\u200bzero-width\x07bell",  # control characters removed
    "don't stop—won't! (yes) [no] {x} $5.00 #tag @me 50% a+b=c ~/~",
    "\u00a0nbsp\u2028line sep\u3000ideographic space",
    "Ǆ ǅ ǆ ﬁ ß ẞ İstanbul",
    "emoji 😀 👍🏽",
    "",
]


@pytest.fixture(scope="session")
def bert(minilm_dir):
    return load_vocab_txt(minilm_dir / "vocab.txt", lowercase=True)


@pytest.fixture(scope="session")
def hf_bert(minilm_dir):
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(str(minilm_dir))


def test_ids_equal_hf_bert_fast_on_rt_and_hard_text(bert, hf_bert, rt_texts, adversarial):
    texts = list(rt_texts) + BERT_HARD + adversarial
    expected = hf_bert(texts)["input_ids"]
    mismatches = [t[:60] for t, e in zip(texts, expected) if bert.encode(t) != e]
    assert not mismatches


def test_long_word_is_unk(bert):
    assert bert.tokenize("a" * 101) == ["[CLS]", "[UNK]", "[SEP]"]
    assert "[UNK]" not in bert.tokenize("a" * 100)


def test_pairs_and_token_type_ids_match_hf(bert, hf_bert, rt_texts):
    a, b = rt_texts[:20], rt_texts[20:40]
    expected = hf_bert(list(a), list(b))
    ours = bert.encode_batch(a, b)
    assert ours["input_ids"] == expected["input_ids"]
    assert ours["token_type_ids"] == expected["token_type_ids"]
    assert ours["attention_mask"] == expected["attention_mask"]
    single = bert.encode_pair(a[0], b[0])
    assert single["input_ids"] == expected["input_ids"][0]
    assert single["token_type_ids"] == expected["token_type_ids"][0]


def test_batch_padding_truncation_tensors_match_hf(bert, hf_bert, rt_texts):
    texts = list(rt_texts[:16])
    for kwargs in (
        {"padding": True},
        {"padding": "max_length", "truncation": True, "max_length": 24},
        {"truncation": True, "max_length": 10, "padding": True},
    ):
        expected = hf_bert(texts, return_tensors="pt", **kwargs)
        ours = bert.encode_batch(texts, return_tensors="pt", **kwargs)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert ours[key].dtype == expected[key].dtype
            assert ours[key].tolist() == expected[key].tolist(), (kwargs, key)
    pairs = bert.encode_batch(texts[:4], texts[4:8], truncation=True, max_length=20, padding=True)
    expected = hf_bert(texts[:4], texts[4:8], truncation=True, max_length=20, padding=True)
    assert pairs["input_ids"] == expected["input_ids"]


def test_decode_matches_hf(bert, hf_bert, rt_texts):
    for text in rt_texts[:200]:
        ids = bert.encode(text)
        assert bert.decode(ids, skip_special_tokens=True) == hf_bert.decode(ids, skip_special_tokens=True)


def test_loads_from_tokenizer_json_and_folder(minilm_dir, bert, rt_texts):
    from scratchformers.tokenizers import load_tokenizer

    from_json = load_tokenizer(minilm_dir / "tokenizer.json")
    from_folder = load_tokenizer(minilm_dir)
    assert isinstance(from_json, WordPieceTokenizer) and isinstance(from_folder, WordPieceTokenizer)
    for text in rt_texts[:300] + BERT_HARD:
        assert from_json.encode(text) == bert.encode(text) == from_folder.encode(text)
    assert bert.pad_token_id == 0 and bert.cls_token_id == 101 and bert.sep_token_id == 102
    assert bert.mask_token_id == 103 and bert.unk_token_id == 100


@pytest.fixture(scope="module")
def hf_bert_backend(minilm_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_ids_equal_hf_on_arbitrary_unicode(bert, hf_bert_backend, text):
    """Any Unicode: control/format/private-use removed, unassigned kept, CJK split, as HF does."""
    assert bert.encode(text) == hf_bert_backend.encode(text).ids


def test_added_tokens_survive_tokenizer_json_as_the_folder(tmp_path):
    """add_tokens / add_special_tokens are written to tokenizer.json; loading that file alone
    restores them for WordPiece as loading the folder does (regression: only byte-level did)."""
    from scratchformers.tokenizers import load_tokenizer, load_tokenizer_json

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "##word", "x"])}
    tok = WordPieceTokenizer(vocab)
    tok.add_tokens(["newword"])
    tok.add_special_tokens(["<extra>"])
    folder = tok.save(tmp_path / "wp")
    from_json = load_tokenizer_json(folder / "tokenizer.json")
    from_folder = load_tokenizer(folder)
    text = "x newword <extra> x"
    assert from_json.encode(text) == from_folder.encode(text) == tok.encode(text)
    assert from_json.added_tokens == from_folder.added_tokens == {"newword": 8}
    assert from_json.special_tokens == from_folder.special_tokens == tok.special_tokens
    assert from_json.decode(from_json.encode(text), skip_special_tokens=True) == "x newword x"
