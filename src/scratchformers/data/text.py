"""Plain text corpora (files and folders) and the character-level tokenizer of nanoGPT's shakespeare_char."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from scratchformers.errors import ConfigError, VocabRangeError

TEXT_SUFFIXES = (".txt", ".md", ".text")


def text_files(path: str | Path) -> list[Path]:
    """One file, or every text file under a folder (sorted, so runs are reproducible)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        if not files:
            raise ConfigError(f"folder {path} holds no text files ({', '.join(TEXT_SUFFIXES)})")
        return files
    raise ConfigError(f"text corpus {path} does not exist")


def iter_text_documents(path: str | Path) -> Iterator[str]:
    """The documents of a corpus, one per file, read lazily."""
    for file in text_files(path):
        yield file.read_text(encoding="utf-8")


class CharTokenizer:
    """Each distinct character of the training text is one token (ids in sorted character order)."""

    def __init__(self, chars: str):
        self.chars = "".join(sorted(set(chars)))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_corpus(cls, path: str | Path) -> CharTokenizer:
        seen: set[str] = set()
        for doc in iter_text_documents(path):
            seen.update(doc)
        if not seen:
            raise ConfigError(f"text corpus {path} is empty")
        return cls("".join(seen))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as err:
            raise VocabRangeError(
                f"character {err.args[0]!r} is not in this character vocabulary of {self.vocab_size}; "
                "build the tokenizer from a corpus that contains it"
            ) from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"type": "char", "chars": self.chars}, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        return cls(json.loads(Path(path).read_text())["chars"])
