"""BERT's ``vocab.txt``: one token per line, the line number is its id."""

from __future__ import annotations

from pathlib import Path

from scratchformers.tokenizers.formats.text_files import read_text
from scratchformers.tokenizers.wordpiece import WordPieceTokenizer


def read_vocab_txt(path: str | Path) -> dict[str, int]:
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for i, token in enumerate(lines):
        vocab.setdefault(token.rstrip("\r"), i)
    return vocab


def load_vocab_txt(path: str | Path, lowercase: bool = True, **kwargs) -> WordPieceTokenizer:
    """A WordPiece tokenizer from ``vocab.txt`` (``kwargs`` go to the constructor)."""
    return WordPieceTokenizer(read_vocab_txt(path), lowercase=lowercase, **kwargs)


def write_vocab_txt(path: Path, vocab: dict[str, int]) -> None:
    tokens = sorted(vocab, key=vocab.get)
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
