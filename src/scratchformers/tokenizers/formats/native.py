"""The folder :meth:`Tokenizer.save` writes, per kind, and :meth:`Tokenizer.load` reads back.

Every folder has our marker file ``scratchformers_tokenizer.json`` (kind, special tokens, roles
and the options of the kind) next to the vocabulary in its usual format, and, for the kinds HF
``tokenizers`` can express, a ``tokenizer.json`` + ``tokenizer_config.json`` that
``transformers.AutoTokenizer`` loads:

========== ======================================================================
wordlevel  ``vocab.json``, ``tokenizer.json``
bpe        ``vocab.json``, ``merges.txt`` (classic BPE with ``</w>``)
bytelevel  ``vocab.json``, ``merges.txt``, ``tokenizer.json``
wordpiece  ``vocab.txt``, ``tokenizer.json``
========== ======================================================================

Importing this module registers the four savers/loaders in ``base.FOLDER_FORMATS``.
"""

from __future__ import annotations

import json
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import FOLDER_FORMATS, Tokenizer, require_dir, restore_added_tokens
from scratchformers.tokenizers.bpe import BPETokenizer
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.formats.bert_vocab import load_vocab_txt, write_vocab_txt
from scratchformers.tokenizers.formats.gpt2 import (
    load_gpt2_files,
    read_merges_txt,
    read_vocab_json,
    write_vocab_merges,
)
from scratchformers.tokenizers.formats.hf_json import load_tokenizer_json, to_tokenizer_json, write_hf_files
from scratchformers.tokenizers.formats.text_files import read_json
from scratchformers.tokenizers.word_level import WordLevelTokenizer
from scratchformers.tokenizers.wordpiece import WordPieceTokenizer

META_FILE = "scratchformers_tokenizer.json"  # our own saved-format marker (kind + options)
_CLASSES = {c.kind: c for c in (WordLevelTokenizer, BPETokenizer, ByteLevelBPETokenizer, WordPieceTokenizer)}


def read_meta(directory: str | Path) -> dict | None:
    path = Path(directory) / META_FILE
    if not path.is_file():
        return None
    return read_json(path, hint="was the save interrupted?")


def write_meta(tok: Tokenizer, directory: Path, **options) -> None:
    """The marker: kind, special tokens (those of ``add_special_tokens`` too), roles, the tokens
    of ``add_tokens`` and the options of the kind (the vocabulary files hold every id)."""
    meta = {
        "kind": tok.kind,
        "special_tokens": tok.special_tokens,
        "added_tokens": tok.added_tokens,
        "roles": tok._roles(),
        **options,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")


def _new_dir(directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _meta_of_kind(directory: Path, kind: str, meta: dict | None, *, required: bool = True) -> dict | None:
    """The marker of ``directory`` (``meta`` if the caller read it already), checked to hold a
    tokenizer of ``kind`` (None: no marker and not ``required``, a foreign folder the loader reads
    by its own files)."""
    meta = read_meta(directory) if meta is None else meta
    if meta is None:
        if required:
            raise ConfigError(f"{str(directory)!r} has no {META_FILE}; was it saved by save()?")
        return None
    held = meta.get("kind")
    if held != kind:
        right = _CLASSES.get(held)
        fix = "load_tokenizer(path)" + (f" or {right.__name__}.load(path)" if right else "")
        raise ConfigError(
            f"{str(directory)!r} holds a {held!r} tokenizer, not {kind!r} ({_CLASSES[kind].__name__}); "
            f"load it with {fix}"
        )
    return meta


def _with_added(tok: Tokenizer, meta: dict) -> Tokenizer:
    """``tok`` with the tokens of ``add_special_tokens`` / ``add_tokens`` that ``meta`` lists."""
    return restore_added_tokens(tok, meta.get("special_tokens", {}), meta.get("added_tokens", {}))


# ----- word-level and classic BPE: vocab.json (+ merges.txt) ---------------------------------------
def save_word_level(tok: WordLevelTokenizer, directory: str | Path) -> Path:
    directory = _new_dir(directory)
    (directory / "vocab.json").write_text(json.dumps(tok.vocab, ensure_ascii=False), encoding="utf-8")
    write_meta(tok, directory, lowercase=tok.lowercase)
    write_hf_files(directory, to_tokenizer_json(tok), tok._roles())
    return directory


def load_word_level(directory: str | Path, meta: dict | None = None) -> WordLevelTokenizer:
    directory = require_dir(directory)
    meta = _meta_of_kind(directory, WordLevelTokenizer.kind, meta)
    vocab = read_vocab_json(directory / "vocab.json")
    tok = WordLevelTokenizer(vocab, list(meta["special_tokens"]), meta["lowercase"], **meta.get("roles", {}))
    return _with_added(tok, meta)


def save_bpe(tok: BPETokenizer, directory: str | Path) -> Path:
    directory = _new_dir(directory)
    write_vocab_merges(directory, tok.vocab, tok.merges)
    write_meta(tok, directory, lowercase=tok.lowercase)
    return directory


def load_bpe(directory: str | Path, meta: dict | None = None) -> BPETokenizer:
    directory = require_dir(directory)
    meta = _meta_of_kind(directory, BPETokenizer.kind, meta)
    vocab = read_vocab_json(directory / "vocab.json")
    merges = read_merges_txt(directory / "merges.txt")
    tok = BPETokenizer(vocab, merges, list(meta["special_tokens"]), meta["lowercase"], **meta.get("roles", {}))
    return _with_added(tok, meta)


# ----- byte-level BPE -------------------------------------------------------------------------------
def save_byte_level(tok: ByteLevelBPETokenizer, directory: str | Path) -> Path:
    """``vocab.json``, ``merges.txt``, HF ``tokenizer.json`` + ``tokenizer_config.json``, marker."""
    directory = _new_dir(directory)
    write_vocab_merges(directory, tok.vocab, tok.merges)
    write_hf_files(directory, to_tokenizer_json(tok), tok._roles())
    write_meta(
        tok,
        directory,
        pattern=tok.pattern,
        split_digits=tok.split_digits,
        add_prefix_space=tok.add_prefix_space,
        ignore_merges=tok.ignore_merges,
        unknown_bytes=tok.unknown_bytes,
        add_bos_token=tok.add_bos_token,
        lowercase=tok.lowercase,
    )
    return directory


def load_byte_level(directory: str | Path, meta: dict | None = None) -> ByteLevelBPETokenizer:
    """What :func:`save_byte_level` wrote, or any folder with a ``tokenizer.json`` / GPT-2 files."""
    directory = require_dir(directory)
    meta = _meta_of_kind(directory, ByteLevelBPETokenizer.kind, meta, required=False)
    if meta is None:
        if (directory / "tokenizer.json").is_file():
            tok = load_tokenizer_json(directory / "tokenizer.json")
            if not isinstance(tok, ByteLevelBPETokenizer):
                raise ConfigError(f"{str(directory)!r} holds a {type(tok).__name__}, not byte-level BPE")
            return tok
        return load_gpt2_files(directory)
    tok = ByteLevelBPETokenizer(
        read_vocab_json(directory / "vocab.json"),
        read_merges_txt(directory / "merges.txt"),
        meta["special_tokens"],
        meta["pattern"],
        split_digits=meta["split_digits"],
        add_prefix_space=meta.get("add_prefix_space", False),
        ignore_merges=meta.get("ignore_merges", False),
        unknown_bytes=meta.get("unknown_bytes", "error"),
        add_bos_token=meta.get("add_bos_token", False),
        lowercase=meta.get("lowercase", False),
        **meta.get("roles", {}),
    )
    return _with_added(tok, meta)


# ----- WordPiece ------------------------------------------------------------------------------------
def save_wordpiece(tok: WordPieceTokenizer, directory: str | Path) -> Path:
    """``vocab.txt``, HF ``tokenizer.json`` + ``tokenizer_config.json`` and our marker file."""
    directory = _new_dir(directory)
    write_vocab_txt(directory / "vocab.txt", tok.vocab)
    write_meta(
        tok,
        directory,
        lowercase=tok.lowercase,
        strip_accents=tok.strip_accents,
        max_input_chars_per_word=tok.max_input_chars_per_word,
        prefix=tok.prefix,
    )
    write_hf_files(
        directory,
        to_tokenizer_json(tok),
        tok._roles(),
        do_lower_case=tok.lowercase,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    return directory


def load_wordpiece(directory: str | Path, meta: dict | None = None) -> WordPieceTokenizer:
    """Our folder, or a BERT folder (``vocab.txt``; ``tokenizer_config.json`` says if uncased)."""
    directory = require_dir(directory)
    meta = _meta_of_kind(directory, WordPieceTokenizer.kind, meta, required=False) or {}
    lowercase = meta.get("lowercase")
    if lowercase is None:
        config = directory / "tokenizer_config.json"
        lowercase = read_json(config).get("do_lower_case", True) if config.is_file() else True
    roles = {
        k: v
        for k, v in meta.get("roles", {}).items()
        if k in ("unk_token", "cls_token", "sep_token", "pad_token", "mask_token")
    }
    tok = load_vocab_txt(
        directory / "vocab.txt",
        lowercase=lowercase,
        strip_accents=meta.get("strip_accents"),
        max_input_chars_per_word=meta.get("max_input_chars_per_word", 100),
        continuing_prefix=meta.get("prefix", "##"),
        **roles,
    )
    return _with_added(tok, meta)


FOLDER_FORMATS.update(
    {
        WordLevelTokenizer.kind: (save_word_level, load_word_level),
        BPETokenizer.kind: (save_bpe, load_bpe),
        ByteLevelBPETokenizer.kind: (save_byte_level, load_byte_level),
        WordPieceTokenizer.kind: (save_wordpiece, load_wordpiece),
    }
)
