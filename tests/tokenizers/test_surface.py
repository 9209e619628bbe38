"""The calls users know from transformers, tokenizers and tiktoken, against the real libraries."""

from __future__ import annotations

import pytest
import torch

from scratchformers.tokenizers import load_gpt2_files, load_vocab_txt

TEXTS = ["Hello world, this is a rather long sentence.", "Short one", "naïve café 😀 ok"]


@pytest.fixture(scope="module")
def bert(minilm_dir):
    return load_vocab_txt(minilm_dir / "vocab.txt", lowercase=True)


@pytest.fixture(scope="module")
def hf_bert(minilm_dir):
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(str(minilm_dir))


def _lists(value):
    """Tensors, tuples and lists alike as nested lists."""
    value = value.tolist() if hasattr(value, "tolist") else value
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": True},
        {"padding": True, "return_tensors": "pt"},
        {"truncation": True, "max_length": 6},
        {"truncation": True, "max_length": 6, "padding": "max_length", "return_tensors": "pt"},
        {"return_offsets_mapping": True},
        {"add_special_tokens": False},
    ],
)
def test_call_single_and_batch_equal_transformers(bert, hf_bert, options):
    for side in ("right", "left"):
        bert.truncation_side = hf_bert.truncation_side = side
        for inputs in (TEXTS[0], TEXTS, (TEXTS[0], TEXTS[1])):
            args = inputs if isinstance(inputs, tuple) else (inputs,)
            ours, theirs = bert(*args, **options), hf_bert(*args, **options)
            assert set(ours) == set(theirs)
            for key in theirs:
                assert _lists(ours[key]) == _lists(theirs[key]), (key, inputs, options)
            assert ours.word_ids() == theirs.word_ids() and ours.tokens() == theirs.tokens()
    bert.truncation_side = hf_bert.truncation_side = "right"


def test_batch_encoding_helpers_equal_transformers(bert, hf_bert):
    ours, theirs = bert(TEXTS, padding=True, return_tensors="pt"), hf_bert(TEXTS, padding=True, return_tensors="pt")
    assert ours.input_ids.shape == theirs.input_ids.shape and ours.to("cpu") is ours
    assert ours.to(torch.device("cpu")).input_ids.device.type == "cpu"
    for b in range(len(TEXTS)):
        assert ours.word_ids(b) == theirs.word_ids(b) and ours.tokens(b) == theirs.tokens(b)
        for char in range(len(TEXTS[b]) + 1):
            assert ours.char_to_token(b, char) == theirs.char_to_token(b, char), (b, char)
    single, hf_single = bert(TEXTS[2]), hf_bert(TEXTS[2])
    assert [single.char_to_token(c) for c in range(12)] == [hf_single.char_to_token(c) for c in range(12)]
    assert single.token_to_chars(2) == tuple(hf_single.token_to_chars(2))


def test_is_split_into_words_equals_transformers(bert, hf_bert):
    words = [["Naïve", "café", "unaffable"], ["New", "York!"]]
    for inputs in (words[0], words):
        ours = bert(inputs, is_split_into_words=True, return_offsets_mapping=True)
        theirs = hf_bert(inputs, is_split_into_words=True, return_offsets_mapping=True)
        assert ours["input_ids"] == theirs["input_ids"]
        assert _lists(ours["offset_mapping"]) == _lists(theirs["offset_mapping"])
        assert ours.word_ids() == theirs.word_ids()


def test_ids_tokens_and_batch_decode_equal_transformers(bert, hf_bert):
    ids = hf_bert(TEXTS, padding=True)["input_ids"]
    assert bert.batch_decode(ids) == hf_bert.batch_decode(ids)
    assert bert.batch_decode(torch.tensor(ids), skip_special_tokens=True) == hf_bert.batch_decode(
        ids, skip_special_tokens=True
    )
    assert bert.decode_batch(ids) == bert.batch_decode(ids)
    assert bert.convert_ids_to_tokens(ids[0]) == hf_bert.convert_ids_to_tokens(ids[0])
    assert bert.convert_ids_to_tokens(ids[0][1]) == hf_bert.convert_ids_to_tokens(ids[0][1])
    tokens = ["hello", "##world", "[SEP]", "notatokenxyz"]
    assert bert.convert_tokens_to_ids(tokens) == hf_bert.convert_tokens_to_ids(tokens)
    assert bert.convert_tokens_to_ids("hello") == hf_bert.convert_tokens_to_ids("hello")


# ----- added tokens -------------------------------------------------------------------------------
def _hf_from(tok, tmp_path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tok.save(tmp_path) / "tokenizer.json"))


ADDED_TEXT = "say newtok and spaced or  spaced<sp>hello world<|endoftext|>newtoknewtok"


def test_added_tokens_equal_hf_tokenizers_byte_level(gpt2_tokenizer_dir, tmp_path):
    ours = load_gpt2_files(gpt2_tokenizer_dir)
    hf = _hf_from(ours, tmp_path)
    for tok in (ours, hf):
        assert tok.add_tokens(["newtok", " spaced", "hello"]) == 3  # "hello" is in the vocab: kept id
        assert tok.add_special_tokens(["<sp>", "<|endoftext|>"]) == 1
    theirs = hf.encode(ADDED_TEXT)
    mine = ours(ADDED_TEXT, return_offsets_mapping=True)
    assert mine.input_ids == theirs.ids == ours.encode(ADDED_TEXT)
    assert mine.offset_mapping == theirs.offsets and mine.word_ids() == theirs.word_ids
    for skip in (False, True):
        assert ours.decode(theirs.ids, skip_special_tokens=skip) == hf.decode(theirs.ids, skip_special_tokens=skip)
    for added in (False, True):
        assert ours.get_vocab(with_added_tokens=added) == hf.get_vocab(with_added_tokens=added)
    assert len(ours) == hf.get_vocab_size(True) == 50260


def test_added_tokens_equal_hf_tokenizers_wordpiece(minilm_dir, tmp_path):
    ours = load_vocab_txt(minilm_dir / "vocab.txt", lowercase=True)
    hf = _hf_from(ours, tmp_path)
    for tok in (ours, hf):
        tok.add_tokens(["newword", "co-op"])
        tok.add_special_tokens(["<extra>"])
    text = "a newword, the co-op<extra>and newwordy things"  # lower case: see docs on normalization
    theirs = hf.encode(text)
    mine = ours(text, return_offsets_mapping=True)
    assert mine.input_ids == theirs.ids and mine.offset_mapping == theirs.offsets
    assert mine.word_ids() == theirs.word_ids
    assert ours.decode(theirs.ids) == hf.decode(theirs.ids, skip_special_tokens=False)
    assert ours.get_vocab(with_added_tokens=False) == hf.get_vocab(with_added_tokens=False)
    assert ours.get_vocab() == hf.get_vocab()


def test_add_special_tokens_roles_as_transformers(gpt2_tokenizer_dir):
    ours = load_gpt2_files(gpt2_tokenizer_dir)
    assert ours.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<a>", "<b>"]}) == 3
    assert ours.pad_token == "<pad>" and ours.pad_token_id == 50257
    assert ours("x<a>y", add_special_tokens=False).input_ids == [87, 50258, 88]


# ----- tiktoken ---------------------------------------------------------------------------------------
def test_tiktoken_batch_and_byte_calls(gpt2, tiktoken_r50k, rt_texts):
    texts = list(rt_texts[:200]) + ["x<|endoftext|>y", "emoji 😀 \u00e9"]
    assert gpt2.encode_ordinary_batch(texts) == tiktoken_r50k.encode_ordinary_batch(texts)
    rows = tiktoken_r50k.encode_ordinary_batch(texts)
    assert gpt2.decode_batch(rows) == tiktoken_r50k.decode_batch(rows)
    assert gpt2.encode_batch(texts).input_ids == tiktoken_r50k.encode_batch(texts, allowed_special="all")
    for row in rows[:20] + [tiktoken_r50k.encode("😀")[:1]]:
        assert gpt2.decode_bytes(row) == tiktoken_r50k.decode_bytes(row)
        assert gpt2.decode_tokens_bytes(row) == tiktoken_r50k.decode_tokens_bytes(row)
    assert gpt2.decode_single_token_bytes(50256) == tiktoken_r50k.decode_single_token_bytes(50256)
    assert gpt2.n_vocab == tiktoken_r50k.n_vocab and gpt2.eot_token == tiktoken_r50k.eot_token


BYTES = [
    b"hello world",
    "café".encode()[:-1],  # ends inside a character
    b"hello \xff",
    b"\xff\xfe\x80",
    "naïve 😀".encode()[:-2],
    b"spaces    \xe2\x82",
    b"a\n\n\n\xc3",
    b"<|endoftext|>\xf0\x9f",
    b"",
    "ok 😀😀 end".encode() + b"\x80\x81 tail",
]


@pytest.mark.parametrize("data", BYTES)
def test_encode_bytes_equals_tiktoken(gpt2, tiktoken_r50k, data):
    assert gpt2.encode_bytes(data) == gpt2._encode_bytes(data) == tiktoken_r50k._encode_bytes(data)
    assert gpt2.decode_bytes(gpt2.encode_bytes(data)) == data


def test_added_tokens_survive_save_and_load(gpt2_tokenizer_dir, minilm_dir, rt_texts, tmp_path):
    from scratchformers.tokenizers import BPETokenizer, WordLevelTokenizer, load_tokenizer

    corpus = list(rt_texts[:300])
    kinds = {
        "bytelevel": load_gpt2_files(gpt2_tokenizer_dir),
        "wordpiece": load_vocab_txt(minilm_dir / "vocab.txt"),
        "wordlevel": WordLevelTokenizer.train(corpus, 300, show_progress=False),
        "bpe": BPETokenizer.train(corpus, 300, show_progress=False),
    }
    text = "the film<extra>was newword-ish, newword!"
    for name, tok in kinds.items():
        tok.add_tokens(["newword"])
        tok.add_special_tokens(["<extra>"])
        before = tok.encode(text)
        assert tok.token_to_id("newword") in before and tok.token_to_id("<extra>") in before
        loaded = load_tokenizer(tok.save(tmp_path / name))
        assert loaded.encode(text) == before, name
        assert loaded.decode(before, skip_special_tokens=True) == tok.decode(before, skip_special_tokens=True)


def test_saved_tokenizer_json_carries_added_tokens_to_hf(gpt2_tokenizer_dir, tmp_path):
    ours = load_gpt2_files(gpt2_tokenizer_dir)
    ours.add_tokens(["newtok", " spaced"])
    ours.add_special_tokens(["<sp>"])
    hf = _hf_from(ours, tmp_path)  # HF reads the added tokens from our tokenizer.json
    assert hf.encode(ADDED_TEXT).ids == ours.encode(ADDED_TEXT)
    assert hf.decode(ours.encode(ADDED_TEXT), skip_special_tokens=True) == ours.decode(
        ours.encode(ADDED_TEXT), skip_special_tokens=True
    )
    from scratchformers.tokenizers import load_tokenizer_json

    reread = load_tokenizer_json(tmp_path / "tokenizer.json")
    assert reread.encode(ADDED_TEXT) == ours.encode(ADDED_TEXT) and "newtok" not in reread.special_tokens
