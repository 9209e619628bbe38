"""Token files (streamed, memory-mapped, uint16/uint32) and random block windows."""

import numpy as np
import pytest
import torch

from scratchformers.data import CharTokenizer, RandomWindows, build_token_file, load_token_file, token_dtype
from scratchformers.errors import ConfigError, VocabRangeError


def test_dtype_choice():
    assert token_dtype(65) == np.uint16 and token_dtype(65536) == np.uint16
    assert token_dtype(65537) == np.uint32 and token_dtype(50257) == np.uint16


def test_build_streams_documents_and_reads_back_as_memmap(tmp_path, monkeypatch):
    import scratchformers.data.tokens as tokens

    monkeypatch.setattr(tokens, "_CHUNK", 7)  # force many partial writes
    docs = (f"document {i} " * (i + 1) for i in range(20))  # a generator: never materialized
    tok = CharTokenizer("document 0123456789")
    path = build_token_file(docs, tok.encode, tmp_path / "c.bin", vocab_size=tok.vocab_size, eot_id=0)
    ids = load_token_file(path)
    assert isinstance(ids, np.memmap) and ids.dtype == np.uint16
    expected = []
    for i in range(20):
        expected += tok.encode(f"document {i} " * (i + 1)) + [0]
    assert ids.tolist() == expected
    assert (tmp_path / "c.bin").stat().st_size == 2 * len(expected)


def test_large_vocab_uses_uint32(tmp_path):
    path = build_token_file(["x"], lambda s: [70000, 1], tmp_path / "big.bin", vocab_size=100000)
    assert load_token_file(path).dtype == np.uint32 and load_token_file(path).tolist() == [70000, 1]


def test_out_of_range_ids_and_missing_or_empty_files(tmp_path):
    with pytest.raises(VocabRangeError, match="outside"):
        build_token_file(["x"], lambda s: [300], tmp_path / "bad.bin", vocab_size=256)
    with pytest.raises(ConfigError, match="does not exist"):
        load_token_file(tmp_path / "nope.bin")
    build_token_file([""], lambda s: [], tmp_path / "empty.bin", vocab_size=10)
    with pytest.raises(ConfigError, match="empty"):
        load_token_file(tmp_path / "empty.bin")


def test_windows_are_their_own_labels_and_resumable():
    ids = np.arange(1000, dtype=np.uint16)
    windows = RandomWindows(ids, 16, 6, seed=0)
    batch = windows.next_batch()
    assert batch["input_ids"].shape == (6, 16) and batch["input_ids"].dtype == torch.long
    assert torch.equal(batch["labels"], batch["input_ids"])  # causal LMs shift the labels inside
    assert torch.equal(batch["input_ids"][:, 1:], batch["input_ids"][:, :-1] + 1)  # a contiguous window
    state = windows.state_dict()
    a = windows.next_batch()
    other = RandomWindows(ids, 16, 6, seed=123)
    other.load_state_dict(state)
    assert torch.equal(other.next_batch()["input_ids"], a["input_ids"])


def test_ranks_split_the_global_batch():
    ids = np.arange(1000, dtype=np.uint16)
    whole = RandomWindows(ids, 8, 4, seed=5).next_batch()["input_ids"]
    parts = [RandomWindows(ids, 8, 4, seed=5, rank=r, world_size=2).next_batch()["input_ids"] for r in (0, 1)]
    assert torch.equal(torch.cat(parts), whole)


def test_corpus_shorter_than_a_block_is_an_error():
    with pytest.raises(ConfigError, match="block_size"):
        RandomWindows(np.arange(10, dtype=np.uint16), 16, 2)


def test_char_tokenizer_roundtrip_and_unknown_char(tmp_path):
    (tmp_path / "a.txt").write_text("hello world")
    tok = CharTokenizer.from_corpus(tmp_path)
    assert tok.vocab_size == len(set("hello world"))
    assert tok.decode(tok.encode("world hello")) == "world hello"
    tok.save(tmp_path / "t.json")
    assert CharTokenizer.load(tmp_path / "t.json").chars == tok.chars
    with pytest.raises(VocabRangeError, match="'z'"):
        tok.encode("z")
