"""``load_tokenizer(path)``: pick the right format from the files that are there."""

from __future__ import annotations

from pathlib import Path

from scratchformers.assets import find_asset
from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import FOLDER_FORMATS, Tokenizer
from scratchformers.tokenizers.formats import (
    load_gpt2_files,
    load_tiktoken,
    load_tokenizer_json,
    load_vocab_txt,
    read_meta,
)
from scratchformers.tokenizers.formats.gpt2 import has_gpt2_files
from scratchformers.tokenizers.formats.native import load_wordpiece


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer from a folder (or a single file), whatever its format.

    In order: our own saved format (``scratchformers_tokenizer.json``), an HF ``tokenizer.json``
    (byte-level BPE or WordPiece), GPT-2 ``vocab.json`` + ``merges.txt`` / ``encoder.json`` +
    ``vocab.bpe``, a BERT ``vocab.txt``. A file may be a ``tokenizer.json``, a ``.tiktoken`` rank
    file or a ``vocab.txt``. (A ``.gguf`` model's tokenizer: ``sf.load_tokenizer_for(path)``,
    which reads the file's metadata.)
    """
    path = Path(path)
    if not path.exists():  # an asset name (minilm, asset:minilm), or "did you mean" for a typo of one
        path = find_asset(str(path)) or path
    if path.is_file():
        return _load_file(path)
    if not path.is_dir():
        raise ConfigError(f"{str(path)!r} does not exist; pass a tokenizer folder or file")
    meta = read_meta(path)
    if meta is not None:
        if meta.get("kind") not in FOLDER_FORMATS:
            raise ConfigError(
                f"{str(path)!r}: unknown tokenizer kind {meta.get('kind')!r}; known: {sorted(FOLDER_FORMATS)}"
            )
        return FOLDER_FORMATS[meta["kind"]][1](path, meta=meta)  # the marker read once
    if (path / "tokenizer.json").is_file():
        return load_tokenizer_json(path / "tokenizer.json")
    if has_gpt2_files(path):
        return load_gpt2_files(path)
    if (path / "vocab.txt").is_file():
        return load_wordpiece(path)
    found = sorted(p.name for p in path.iterdir())[:20]
    raise ConfigError(
        f"no tokenizer files in {str(path)!r} (found {found}); expected tokenizer.json, vocab.json + "
        "merges.txt, encoder.json + vocab.bpe, vocab.txt, or a folder written by Tokenizer.save()"
    )


def _load_file(path: Path) -> Tokenizer:
    if path.suffix == ".gguf":
        raise ConfigError(
            f"{str(path)!r} is a GGUF model; its tokenizer is in the file's metadata: use "
            "sf.load_tokenizer_for(path) (or formats.tokenizer_from_gguf(metadata))"
        )
    if path.suffix == ".tiktoken":
        return load_tiktoken(path)
    if path.name.endswith(".json"):
        return load_tokenizer_json(path)
    if path.name == "vocab.txt":
        return load_vocab_txt(path)
    raise ConfigError(f"cannot tell the tokenizer format of {str(path)!r}; pass its folder instead")
