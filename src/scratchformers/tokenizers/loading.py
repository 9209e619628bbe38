"""``load_tokenizer(path)``: pick the right class from the files that are there."""

from __future__ import annotations

import json
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import Tokenizer, read_meta
from scratchformers.tokenizers.bpe import BPETokenizer
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.word_level import WordLevelTokenizer
from scratchformers.tokenizers.wordpiece import WordPieceTokenizer

KINDS: dict[str, type[Tokenizer]] = {
    cls.kind: cls for cls in (WordLevelTokenizer, BPETokenizer, ByteLevelBPETokenizer, WordPieceTokenizer)
}


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer from a folder (or a single file), whatever its format.

    In order: our own saved format (``scratchformers_tokenizer.json``), an HF ``tokenizer.json``
    (byte-level BPE or WordPiece), GPT-2 ``vocab.json`` + ``merges.txt`` / ``encoder.json`` +
    ``vocab.bpe``, a BERT ``vocab.txt``. A file may be a ``tokenizer.json``, a ``.tiktoken`` rank
    file or a ``.gguf`` model.
    """
    path = Path(path)
    if path.is_file():
        return _load_file(path)
    if not path.is_dir():
        raise ConfigError(f"{str(path)!r} does not exist; pass a tokenizer folder or file")
    meta = read_meta(path)
    if meta is not None:
        if meta.get("kind") not in KINDS:
            raise ConfigError(
                f"{str(path)!r}: unknown tokenizer kind {meta.get('kind')!r}; known: {sorted(KINDS)}"
            )
        return KINDS[meta["kind"]].load(path)
    if (path / "tokenizer.json").is_file():
        return _load_file(path / "tokenizer.json")
    if ((path / "vocab.json").is_file() and (path / "merges.txt").is_file()) or (
        (path / "encoder.json").is_file() and (path / "vocab.bpe").is_file()
    ):
        return ByteLevelBPETokenizer.from_gpt2_files(path)
    if (path / "vocab.txt").is_file():
        return WordPieceTokenizer.load(path)
    found = sorted(p.name for p in path.iterdir())[:20]
    raise ConfigError(
        f"no tokenizer files in {str(path)!r} (found {found}); expected tokenizer.json, vocab.json + "
        "merges.txt, encoder.json + vocab.bpe, vocab.txt, or a folder written by Tokenizer.save()"
    )


def _load_file(path: Path) -> Tokenizer:
    if path.suffix == ".gguf":
        return ByteLevelBPETokenizer.from_gguf(path)
    if path.suffix == ".tiktoken":
        return ByteLevelBPETokenizer.from_tiktoken(path)
    if path.name.endswith(".json"):
        spec = json.loads(path.read_text(encoding="utf-8"))
        model_type = spec.get("model", {}).get("type")
        if model_type == "WordPiece":
            return WordPieceTokenizer.from_tokenizer_json(path)
        if model_type == "BPE":
            return ByteLevelBPETokenizer.from_tokenizer_json(path)
        raise ConfigError(
            f"{str(path)!r}: tokenizer.json model type {model_type!r} is not supported "
            "(supported: BPE with ByteLevel, WordPiece)"
        )
    if path.name == "vocab.txt":
        return WordPieceTokenizer.from_vocab_file(path)
    raise ConfigError(f"cannot tell the tokenizer format of {str(path)!r}; pass its folder instead")
