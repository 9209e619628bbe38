"""GPT-2's files: ``vocab.json`` (token -> id) + ``merges.txt`` (one ``left right`` per line, after
a ``#version`` header), or OpenAI's original names for the same contents, ``encoder.json`` +
``vocab.bpe``. Also the vocab/merges pair that classic BPE saves."""

from __future__ import annotations

import json
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import require_dir
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer, parse_merges
from scratchformers.tokenizers.formats.text_files import read_json, read_text

FILE_PAIRS = (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe"))


def has_gpt2_files(directory: Path) -> bool:
    return any((directory / v).is_file() and (directory / m).is_file() for v, m in FILE_PAIRS)


def load_gpt2_files(directory: str | Path, **kwargs) -> ByteLevelBPETokenizer:
    """``vocab.json`` + ``merges.txt`` or ``encoder.json`` + ``vocab.bpe`` -> byte-level BPE
    (``kwargs`` go to the constructor, e.g. ``pattern="cl100k"``)."""
    directory = require_dir(directory)
    for vocab_name, merges_name in FILE_PAIRS:
        if (directory / vocab_name).is_file() and (directory / merges_name).is_file():
            vocab = read_vocab_json(directory / vocab_name)
            merges = read_merges_txt(directory / merges_name)
            kwargs.setdefault("special_tokens", [t for t in ("<|endoftext|>",) if t in vocab])
            return ByteLevelBPETokenizer(vocab, merges, **kwargs)
    raise ConfigError(f"{str(directory)!r} has neither vocab.json + merges.txt nor encoder.json + vocab.bpe")


def read_vocab_json(path: Path) -> dict[str, int]:
    return read_json(path)


def read_merges_txt(path: Path) -> list[tuple[str, str]]:
    lines = read_text(path).split("\n")
    return parse_merges(line for line in lines if line and not line.startswith("#version"))


def write_vocab_merges(directory: Path, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
