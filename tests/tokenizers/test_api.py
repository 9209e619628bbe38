"""The common API: batching, padding, tensors, errors, save/load, load_tokenizer, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchformers as sf
from scratchformers.errors import ConfigError, ShapeError, VocabRangeError
from scratchformers.tokenizers import (
    BPETokenizer,
    ByteLevelBPETokenizer,
    WordLevelTokenizer,
    WordPieceTokenizer,
    count_tokens,
    load_gpt2_files,
    load_tokenizer,
    load_vocab_txt,
)


@pytest.fixture(scope="module")
def small_corpus(rt_texts):
    return list(rt_texts[:1500])


@pytest.fixture(scope="module")
def word_level(small_corpus):
    return WordLevelTokenizer.train(small_corpus, 500, show_progress=False)


# ----- word level -----------------------------------------------------------------------------------


def test_word_level_unknowns_never_raise(word_level, small_corpus):
    from collections import Counter

    from scratchformers.tokenizers.pretokenize import word_punct_split

    counts = Counter(w for t in small_corpus for w in word_punct_split(t))
    kept = [w for w, _ in counts.most_common(500 - 5)]
    assert [word_level.id_to_token(i) for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert [word_level.id_to_token(i) for i in range(5, 500)] == kept
    ids = word_level.encode("the film zzyzx-qwerty!")
    assert word_level.tokenize("the film zzyzx-qwerty!") == ["the", "film", "[UNK]", "-", "[UNK]", "!"]
    assert ids[2] == word_level.unk_token_id == 1
    assert word_level.pad_token_id == 0 and word_level.mask_token_id == 4


# ----- batching ---------------------------------------------------------------------------------------


def test_encode_batch_padding_and_masks(gpt2_tokenizer_dir):
    gpt2 = load_gpt2_files(gpt2_tokenizer_dir)  # own copy: we change its settings
    gpt2.pad_token = gpt2.eos_token
    texts = ["Hello world", "A much longer sentence than the first one", "Hi"]
    singles = [gpt2.encode(t) for t in texts]
    longest = max(map(len, singles))
    out = gpt2.encode_batch(texts, padding=True, return_tensors="pt")
    assert out["input_ids"].shape == (3, longest) and out["input_ids"].dtype == torch.long
    for row, ids, mask in zip(out["input_ids"].tolist(), singles, out["attention_mask"].tolist()):
        assert row[: len(ids)] == ids and set(row[len(ids) :]) <= {50256}
        assert mask == [1] * len(ids) + [0] * (longest - len(ids))
    gpt2.padding_side = "left"
    left = gpt2.encode_batch(texts, padding="max_length", max_length=12)
    assert left["input_ids"][2] == [50256] * (12 - len(singles[2])) + singles[2]
    assert left["attention_mask"][2] == [0] * (12 - len(singles[2])) + [1] * len(singles[2])
    gpt2.padding_side = "right"
    trunc = gpt2.encode_batch(texts, truncation=True, max_length=3)
    assert trunc["input_ids"] == [s[:3] for s in singles]
    assert "token_type_ids" not in trunc


def test_batch_errors_are_clear(gpt2, word_level):
    with pytest.raises(ConfigError, match="no pad token"):
        gpt2.encode_batch(["a", "b c"], padding=True)
    with pytest.raises(ShapeError, match="padding=True"):
        word_level.encode_batch(["a", "b c d"], return_tensors="pt")
    with pytest.raises(ConfigError, match="max_length"):
        word_level.encode_batch(["a"], truncation=True)
    with pytest.raises(ConfigError, match="padding="):
        word_level.encode_batch(["a"], padding="sideways")
    with pytest.raises(ConfigError, match="return_tensors"):
        word_level.encode_batch(["a"], return_tensors="np")
    with pytest.raises(VocabRangeError, match="outside"):
        gpt2.decode([1, 2, 99999])
    with pytest.raises(ConfigError, match="does not exist"):
        load_tokenizer("/nonexistent/tokenizer/dir")
    with pytest.raises(ConfigError, match="do not exist"):
        ByteLevelBPETokenizer.train_from_files([Path("/nonexistent/corpus.txt")], 300, show_progress=False)
    with pytest.raises(ConfigError, match="lack '\\[UNK\\]'"):
        WordPieceTokenizer.train(["some text"], 100, special_tokens=["[PAD]"], show_progress=False)



def test_unsupported_truncation_strategies_and_pairs_refused_before_encoding(word_level, monkeypatch):
    """only_first / only_second behaved as longest_first: refused, naming what is supported; a
    pair for a tokenizer without pairs is refused before either text is encoded."""
    for strategy in ("only_first", "only_second"):
        with pytest.raises(ConfigError, match=rf"truncation='{strategy}'; expected True/'longest_first'"):
            word_level(["a b c d"], truncation=strategy, max_length=3)
    monkeypatch.setattr(word_level, "_items", lambda *a, **k: pytest.fail("encoded before the check"))
    with pytest.raises(ConfigError, match="does not encode text pairs"):
        word_level("a b", "c d")


# ----- properties -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_bytelevel_round_trip_any_unicode(gpt2, text):
    assert gpt2.decode(gpt2.encode(text)) == text


@pytest.fixture(scope="module")
def tiny_bytelevel(small_corpus):
    return ByteLevelBPETokenizer.train(small_corpus[:300], 400, show_progress=False)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab é😀\n\t北") | st.characters(exclude_categories=("Cs",)), max_size=40)
)
def test_trained_bytelevel_round_trip(tiny_bytelevel, text):
    assert tiny_bytelevel.decode(tiny_bytelevel.encode(text)) == text


# ----- save / load / dispatch -------------------------------------------------------------------------


def test_save_load_every_kind(tmp_path, small_corpus, minilm_dir):
    made = {
        "wordlevel": WordLevelTokenizer.train(small_corpus, 300, show_progress=False),
        "bpe": BPETokenizer.train(small_corpus, 300, show_progress=False),
        "bytelevel": ByteLevelBPETokenizer.train(small_corpus, 300, show_progress=False),
        "wordpiece": load_vocab_txt(minilm_dir / "vocab.txt"),
    }
    probe = small_corpus[-5:] + ["unseen ☃ words 123"]
    for kind, tok in made.items():
        folder = tok.save(tmp_path / kind)
        again = load_tokenizer(folder)
        assert type(again) is type(tok)
        assert again.get_vocab() == tok.get_vocab()
        assert [again.encode(t) for t in probe] == [tok.encode(t) for t in probe]
        assert again.special_tokens == tok.special_tokens


def test_class_load_of_another_kind_is_a_one_line_error(tmp_path, word_level):
    """BPETokenizer.load(a word-level folder) names what the folder holds and how to load it
    (regression: the loader looked for merges.txt and raised a raw FileNotFoundError)."""
    folder = word_level.save(tmp_path / "wl")
    for cls in (BPETokenizer, ByteLevelBPETokenizer, WordPieceTokenizer):
        with pytest.raises(ConfigError, match=r"holds a 'wordlevel' tokenizer.*load_tokenizer\(path\)") as err:
            cls.load(folder)
        assert str(folder) in str(err.value) and "WordLevelTokenizer.load" in str(err.value)
        assert "\n" not in str(err.value)
    assert WordLevelTokenizer.load(folder).get_vocab() == word_level.get_vocab()


def test_added_tokens_kept_in_one_marker_read_once(tmp_path, monkeypatch):
    """save writes the marker once with the added tokens in it; load_tokenizer reads it once and
    hands it to the loader, which restores the added tokens from it."""
    from scratchformers.tokenizers import loading
    from scratchformers.tokenizers.formats import native

    tok = WordLevelTokenizer.train(["a b c d e"], 10, show_progress=False)
    tok.add_tokens(["newword"])
    tok.add_special_tokens(["<extra>"])
    folder = tok.save(tmp_path / "wl")
    meta = json.loads((folder / native.META_FILE).read_text(encoding="utf-8"))
    assert meta["added_tokens"] == tok.added_tokens and "<extra>" in meta["special_tokens"]
    reads = []
    counting = lambda d, _read=native.read_meta: reads.append(d) or _read(d)  # noqa: E731
    monkeypatch.setattr(native, "read_meta", counting)
    monkeypatch.setattr(loading, "read_meta", counting)
    text = "a newword <extra> b"
    for again in (load_tokenizer(folder), WordLevelTokenizer.load(folder)):
        assert again.encode(text) == tok.encode(text)
        assert again.added_tokens == tok.added_tokens and again.special_tokens == tok.special_tokens
    assert len(reads) == 2  # once per load


def test_load_tokenizer_picks_class_from_files(gpt2_tokenizer_dir, minilm_dir, tmp_path, gpt2):
    assert isinstance(load_tokenizer(gpt2_tokenizer_dir), ByteLevelBPETokenizer)  # encoder.json + vocab.bpe
    gpt2_folder = tmp_path / "gpt2"
    gpt2_folder.mkdir()
    (gpt2_folder / "vocab.json").write_bytes((gpt2_tokenizer_dir / "encoder.json").read_bytes())
    (gpt2_folder / "merges.txt").write_bytes((gpt2_tokenizer_dir / "vocab.bpe").read_bytes())
    assert load_tokenizer(gpt2_folder).encode("Hello world") == gpt2.encode("Hello world")
    only_vocab = tmp_path / "bert"
    only_vocab.mkdir()
    (only_vocab / "vocab.txt").write_bytes((minilm_dir / "vocab.txt").read_bytes())
    assert isinstance(load_tokenizer(only_vocab), WordPieceTokenizer)
    assert isinstance(load_tokenizer(minilm_dir), WordPieceTokenizer)  # HF tokenizer.json
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no tokenizer files"):
        load_tokenizer(empty)


def test_constructible_from_vocab_and_merges(gpt2):
    """What a checkpoint loader needs: vocab dict + merge list (+ specials, pattern)."""
    tok = ByteLevelBPETokenizer(
        gpt2.get_vocab(),
        [f"{a} {b}" for a, b in gpt2.merges],
        special_tokens=["<|endoftext|>"],
        pattern="gpt2",
    )
    assert tok.encode("Hello, world<|endoftext|>") == gpt2.encode("Hello, world<|endoftext|>")
    with pytest.raises(ConfigError, match="not in the vocabulary"):
        ByteLevelBPETokenizer({"a": 0}, [("a", "b")])


def test_top_level_exports_and_count_tokens(gpt2, tmp_path, small_corpus):
    assert sf.ByteLevelBPETokenizer is ByteLevelBPETokenizer and sf.load_tokenizer is load_tokenizer
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(small_corpus[:500]), encoding="utf-8")
    tok = sf.ByteLevelBPETokenizer.train_from_files([str(corpus)], vocab_size=600, show_progress=False)
    assert tok.vocab_size == 600
    assert count_tokens("Hello world", gpt2) == 2 == sf.count_tokens("Hello world", gpt2)


# ----- CLI ----------------------------------------------------------------------------------------------


def test_cli_train_encode_compare(tmp_path, small_corpus, capsys):
    from scratchformers.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(small_corpus), encoding="utf-8")
    out = tmp_path / "tok"
    assert (
        main(
            [
                "tokenizer",
                "train",
                "--files",
                str(corpus),
                "--vocab-size",
                "400",
                "--kind",
                "bytelevel",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    tok = load_tokenizer(out)
    capsys.readouterr()
    assert main(["tokenizer", "encode", str(out), "the film"]) == 0
    printed = capsys.readouterr().out
    assert str(tok.encode("the film")) in printed and "tokens:" in printed
    plot = tmp_path / "cmp.png"
    assert (
        main(
            [
                "tokenizer",
                "compare",
                "--files",
                str(corpus),
                "--vocab-sizes",
                "300,600",
                "--kinds",
                "wordlevel,bytelevel",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "bytes/token" in table and plot.stat().st_size > 1000
    assert (
        main(
            [
                "tokenizer",
                "train",
                "--files",
                str(tmp_path / "missing.txt"),
                "--vocab-size",
                "300",
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err


def test_compare_trade_off_is_monotone(small_corpus):
    from scratchformers.tokenizers import compare_vocab_sizes

    rows = compare_vocab_sizes(small_corpus, [300, 1200], kinds=("wordlevel", "bytelevel"))
    by = {(r["kind"], r["requested_vocab_size"]): r for r in rows}
    assert by["bytelevel", 1200]["bytes_per_token"] > by["bytelevel", 300]["bytes_per_token"]
    assert by["wordlevel", 1200]["unknown_rate"] < by["wordlevel", 300]["unknown_rate"]
    assert by["bytelevel", 300]["unknown_rate"] == 0.0
    assert json.dumps(rows)  # plain data


def test_decode_accepts_ints_tensors_and_rejects_batches(gpt2, word_level):
    ids = gpt2.encode("Hello world")
    assert gpt2.decode(torch.tensor(ids)) == "Hello world" == gpt2.decode(ids)
    assert gpt2.decode(ids[0]) == "Hello"
    wl = word_level.encode("the film")
    assert word_level.decode(torch.tensor(wl)) == "the film"
    with pytest.raises(ShapeError, match="batch"):
        gpt2.decode(torch.tensor([ids, ids]))


def test_tokenizers_pickle(gpt2, word_level):
    import pickle

    for tok in (gpt2, word_level):
        again = pickle.loads(pickle.dumps(tok))
        assert again.encode("the film, 2024!") == tok.encode("the film, 2024!")
