"""Hostile and unlucky input: texts that look like paths, one huge word, lone surrogates, too-small
corpora, special tokens. Each case checked against a reference (HF tokenizers, tiktoken) or a
hand-computed result."""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path

import pytest

from scratchformers.errors import ConfigError
from scratchformers.tokenizers import (
    BPETokenizer,
    ByteLevelBPETokenizer,
    WordLevelTokenizer,
    WordPieceTokenizer,
    load_tokenizer_json,
    to_tokenizer_json,
)

TRAINABLE = (WordLevelTokenizer, BPETokenizer, ByteLevelBPETokenizer)


def _letters(rt_texts, n: int) -> str:
    """n letters of real English with every space and punctuation mark removed: one huge word."""
    letters = "".join(c for c in " ".join(rt_texts) if c.isalpha())
    return (letters * (n // len(letters) + 1))[:n]


# ----- training from texts never opens files -----------------------------------------------------


@pytest.mark.parametrize("cls", TRAINABLE)
def test_texts_that_are_paths_are_never_opened(cls, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password hunter2\n" * 50, encoding="utf-8")
    tok = cls.train(["hello world"] * 3 + [str(secret)] * 3, 300, min_frequency=1, show_progress=False)
    vocab = tok.get_vocab()
    assert not any("hunter" in t or "password" in t for t in vocab)  # the file's words never seen
    if cls is WordLevelTokenizer:
        assert {"hello", "world", "secret", "txt"} <= set(vocab)  # the path was read as text


@pytest.mark.parametrize("cls", TRAINABLE)
def test_files_only_through_train_from_files(cls, tmp_path, rt_texts):
    corpus = tmp_path / "corpus.txt"
    lines = [t for t in rt_texts[:400] if not set(t) & set("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_file = cls.train_from_files([corpus], 400, show_progress=False)
    from_texts = cls.train([line + "\n" for line in lines], 400, show_progress=False)
    assert from_file.get_vocab() == from_texts.get_vocab()
    with pytest.raises(ConfigError, match="train_from_files"):
        cls.train(corpus, 400, show_progress=False)  # one path, not a list of texts
    with pytest.raises(ConfigError, match="train_from_files"):
        cls.train([corpus], 400, show_progress=False)  # a Path among the texts
    with pytest.raises(ConfigError, match=r"pass \[text\]"):
        cls.train("just one text", 400, show_progress=False)
    with pytest.raises(ConfigError, match="do not exist"):
        cls.train_from_files([tmp_path / "missing.txt"], 400, show_progress=False)
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        cls.train_from_files([binary], 400, show_progress=False)


def test_wordpiece_trains_from_texts_and_files_alike(tmp_path):
    (tmp_path / "c.txt").write_text("text texts\n", encoding="utf-8")
    from_texts = WordPieceTokenizer.train(["text texts\n"], 100, show_progress=False)
    from_files = WordPieceTokenizer.train_from_files([tmp_path / "c.txt"], 100, show_progress=False)
    assert from_texts.get_vocab() == from_files.get_vocab()
    assert {"text", "##s", "texts"} <= set(from_texts.get_vocab())  # t e x t, then the merges
    with pytest.raises(ConfigError, match="not a list of texts"):
        WordPieceTokenizer.train("text", 100)


# ----- one huge word: training and encoding stay linear --------------------------------------------


def _hf_merges(texts, vocab_size, min_frequency):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer)
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in json.loads(hf.to_str())["model"]["merges"]]


def test_long_words_train_the_same_merges_as_hf(rt_texts):
    """Words above the pair-position threshold mixed with ordinary ones, and runs of one letter
    (overlapping pairs), give HF's merges exactly."""
    texts = [_letters(rt_texts, 20_000), "a" * 3001 + "b" * 700, *rt_texts[:500], "ab" * 999 + " abab"]
    for min_frequency in (0, 2):
        ours = ByteLevelBPETokenizer.train(texts, 900, min_frequency=min_frequency, show_progress=False)
        assert ours.merges == _hf_merges(texts, 900, min_frequency)


def test_one_million_character_line_trains_in_linear_time(rt_texts):
    """The issue's case: one line of 1,000,000 letters (no spaces), byte-level, vocab 1000,
    min_frequency 2. Quadratic before (89 s); the pair-position index makes it a few seconds."""
    line = _letters(rt_texts, 1_000_000)
    start = time.perf_counter()
    tok = ByteLevelBPETokenizer.train([line], 1000, show_progress=False)
    seconds = time.perf_counter() - start
    assert tok.vocab_size == 1000
    assert seconds < 30, f"{seconds:.1f} s"
    assert tok.decode(tok.encode(line[:5000])) == line[:5000]


def test_long_lines_encode_like_tiktoken(gpt2, tiktoken_r50k, rt_texts):
    import random

    rng = random.Random(0)
    lines = [
        _letters(rt_texts, 200_000),
        "a" * 50_000,
        "".join(rng.choice("0123456789") for _ in range(50_000)),
        "".join(rng.choice("!?.,;:-'\"") for _ in range(50_000)),
        " " + "".join(rng.choice("abcé€😀") for _ in range(20_000)),
    ]
    for line in lines:
        assert gpt2.encode_ordinary(line) == tiktoken_r50k.encode_ordinary(line)


def test_one_million_character_line_encodes_in_linear_time(gpt2, tiktoken_r50k, rt_texts):
    """Was ~65 us per character (every merge rescanned the piece, quadratic); a heap over a
    linked list makes it O(n log n), with ids identical to tiktoken."""
    line = _letters(rt_texts, 1_000_000)
    start = time.perf_counter()
    ids = gpt2.encode(line)
    seconds = time.perf_counter() - start
    assert ids == tiktoken_r50k.encode_ordinary(line)
    assert seconds < 60, f"{seconds:.1f} s"  # about 5 s on an idle core; 65 s before


# ----- lone surrogates as tiktoken ---------------------------------------------------------------


def test_surrogates_are_encoded_as_tiktoken_does(gpt2, tiktoken_r50k, rt_texts):
    texts = [
        "\ud800",
        "a\udfffb",
        "lone \ud83d here",
        "\ud83d\ude00 a surrogate pair spelled out",
        "mixed \udc00\ud800 and 😀 " + rt_texts[0],
        "\ud800" * 100,
    ]
    for text in texts:
        expected = tiktoken_r50k.encode(text, disallowed_special=())
        assert gpt2.encode(text) == expected
        assert gpt2.encode_ordinary(text) == tiktoken_r50k.encode_ordinary(text)
    trained = ByteLevelBPETokenizer.train(["a\ud800b", *rt_texts[:50]], 300, show_progress=False)
    assert trained.decode(trained.encode("x\ud800y")) == "x\ufffdy"


# ----- a smaller vocabulary than asked for is said, with the reason -------------------------------


def _short_warning(record) -> str:
    messages = [str(w.message) for w in record if "training stopped at a vocabulary" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in record]
    return messages[0]


def test_short_vocabulary_warns_with_numbers_and_reason():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tok = WordLevelTokenizer.train(["the cat sat on the mat"] * 2, 100, show_progress=False)
    assert tok.vocab_size == 5 + 5  # specials + the, cat, sat, on, mat
    message = _short_warning(record)
    assert "vocabulary of 10, not the 100 asked for" in message and "only 5 distinct words" in message

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tok = ByteLevelBPETokenizer.train(["abcabc xyz"], 400, min_frequency=2, show_progress=False)
    # ab, abc (twice each) merged; then every pair occurs once
    assert tok.merges == [("a", "b"), ("ab", "c")]
    message = _short_warning(record)
    assert f"vocabulary of {tok.vocab_size}, not the 400" in message and "min_frequency=2" in message

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tok = BPETokenizer.train(["ab ab"], 100, special_tokens=("[UNK]",), min_frequency=0, show_progress=False)
    assert tok.merges == [("a", "b"), ("ab", "</w>")]
    assert "no pair of adjacent tokens is left" in _short_warning(record)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ByteLevelBPETokenizer.train(["abcabc xyz"] * 50, 260, show_progress=False)
    assert not [w for w in record if "training stopped" in str(w.message)]  # full size: silent


def test_progress_bar_ends_at_the_size_reached(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = ByteLevelBPETokenizer.train(["abcabc xyz"], 400, show_progress=True)
    err = capsys.readouterr().err
    last = [line for line in re.split(r"[\r\n]", err) if "Compute merges" in line][-1]
    assert "100%" in last and f"{len(tok.merges)}/{len(tok.merges)}" in last


# ----- add_special_tokens is honoured by byte-level BPE --------------------------------------------


def test_byte_level_add_special_tokens_like_hf(gpt2, tmp_path):
    from tokenizers import Tokenizer

    text = "Hello world<|endoftext|> again"
    # GPT-2 adds nothing, as HF's GPT-2 tokenizer.json
    hf_gpt2 = Tokenizer.from_str(json.dumps(to_tokenizer_json(gpt2)))
    assert gpt2.encode(text, add_special_tokens=True) == hf_gpt2.encode(text, add_special_tokens=True).ids
    # a Llama-style tokenizer that puts BOS first: on with True, off with False, HF agrees both ways
    llama_like = ByteLevelBPETokenizer(
        gpt2.get_vocab(), gpt2.merges, gpt2.special_tokens, add_bos_token=True, bos_token="<|endoftext|>"
    )
    hf = Tokenizer.from_str(json.dumps(to_tokenizer_json(llama_like)))
    for flag in (True, False):
        ours = llama_like.encode(text, add_special_tokens=flag)
        assert ours == hf.encode(text, add_special_tokens=flag).ids
        assert (ours[0] == 50256) is flag
    batch = llama_like.encode_batch([text, "x"], add_special_tokens=False)["input_ids"]
    assert batch == [gpt2.encode(text), gpt2.encode("x")]
    folder = llama_like.save(tmp_path / "llama_like")
    assert load_tokenizer_json(Path(folder) / "tokenizer.json").encode("hi") == [50256, *gpt2.encode("hi")]
    with pytest.raises(ConfigError, match="bos_token"):
        ByteLevelBPETokenizer(gpt2.get_vocab(), gpt2.merges, add_bos_token=True)


def _reference_bpe(symbols: list[str], ranks: dict) -> list[str]:
    """openai/gpt-2 encoder.py's ``bpe``, written out: merge the lowest-ranked pair everywhere."""
    word = list(symbols)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def test_classic_bpe_long_words_merge_like_the_reference(rt_texts):
    """Classic BPE words above the heap threshold (string symbols) against GPT-2's ``bpe``."""
    import random

    from scratchformers.tokenizers.merging import LONG_WORD

    tok = BPETokenizer.train(rt_texts[:1000], 800, show_progress=False)
    rng = random.Random(1)
    letters = _letters(rt_texts, 5000)
    for size in (LONG_WORD + 1, 200, 1000):
        start = rng.randrange(0, len(letters) - size)
        word = letters[start : start + size]
        expected = _reference_bpe([*word, "</w>"], tok._ranks)
        assert tok.tokenize(word) == expected


# ----- broken files: one-line errors naming the file and where it broke ------------------------


def test_broken_files_are_one_line_config_errors(tmp_path, gpt2_tokenizer_dir):
    from scratchformers.tokenizers import load_tiktoken, load_tokenizer, load_vocab_txt

    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\n", encoding="utf-8")
    (bert / "tokenizer_config.json").write_text('{"do_lower_case": tru', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tokenizer_config.json.*not valid JSON .*line 1 column"):
        load_tokenizer(bert)
    (bert / "tokenizer_config.json").unlink()
    (bert / "vocab.txt").write_bytes(b"[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")
    with pytest.raises(ConfigError, match=r"vocab.txt.*not UTF-8 \(byte 0xe9 at offset 27\)"):
        load_vocab_txt(bert / "vocab.txt")

    gpt2 = tmp_path / "gpt2"
    gpt2.mkdir()
    (gpt2 / "vocab.json").write_bytes((gpt2_tokenizer_dir / "encoder.json").read_bytes())
    (gpt2 / "merges.txt").write_bytes(b"#version: 0.2\n\xff \xfe\n")
    with pytest.raises(ConfigError, match=r"merges.txt.*not UTF-8 \(byte 0xff at offset 14\)"):
        load_tokenizer(gpt2)
    ranks = tmp_path / "x.tiktoken"
    ranks.write_bytes(b"YQ== 0\n\x80\n")
    with pytest.raises(ConfigError, match=r"x.tiktoken.*not UTF-8 \(byte 0x80 at offset 7\)"):
        load_tiktoken(ranks)
    for broken in (b'{"model": ', b'{"model": "\xe9"}'):
        (tmp_path / "tokenizer.json").write_bytes(broken)
        with pytest.raises(ConfigError, match=r"tokenizer.json.*(line 1 column 11|offset 11)") as err:
            load_tokenizer(tmp_path / "tokenizer.json")
        assert "\n" not in str(err.value)
