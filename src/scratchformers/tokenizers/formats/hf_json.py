"""Hugging Face's ``tokenizer.json`` (+ a ``tokenizer_config.json`` for transformers), both ways.

Export: each kind gets its own parts (model, normalizer, pre-tokenizer, ...); the envelope, the
added special tokens, the template post-processors and the file writing live here once, so every
``save`` produces a folder that ``tokenizers.Tokenizer.from_file`` and
``transformers.AutoTokenizer.from_pretrained`` load and that encodes with the same ids as ours.
Import: byte-level BPE models (GPT-2, RoBERTa, SmolLM2 style: ``Digits``/``Split``/``ByteLevel``
pre-tokenizers, no normalizer) and WordPiece (BERT).
"""

from __future__ import annotations

import json
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import Tokenizer, restore_added_tokens
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.formats.text_files import read_json
from scratchformers.tokenizers.pretokenize import GPT2_PATTERN, WORD_PUNCT_PATTERN
from scratchformers.tokenizers.word_level import WordLevelTokenizer
from scratchformers.tokenizers.wordpiece import WordPieceTokenizer


def added_tokens(special_tokens: dict[str, int]) -> list[dict]:
    """Special tokens as HF ``added_tokens``: matched on the raw text, never split or normalized."""
    return [
        {
            "id": i,
            "content": t,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for t, i in sorted(special_tokens.items(), key=lambda kv: kv[1])
    ]


def tokenizer_json(
    *,
    model: dict,
    special_tokens: dict[str, int],
    normalizer: dict | None = None,
    pre_tokenizer: dict | None = None,
    post_processor: dict | None = None,
    decoder: dict | None = None,
) -> dict:
    """The whole ``tokenizer.json`` document (no truncation or padding: those are call options)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens(special_tokens),
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": model,
    }


def bert_template(cls_token: str, cls_id: int, sep_token: str, sep_id: int) -> dict:
    """``[CLS] $A [SEP]`` and ``[CLS] $A [SEP] $B:1 [SEP]:1`` as a ``TemplateProcessing``."""

    def special(token: str, type_id: int) -> dict:
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def sequence(name: str, type_id: int) -> dict:
        return {"Sequence": {"id": name, "type_id": type_id}}

    single = [special(cls_token, 0), sequence("A", 0), special(sep_token, 0)]
    return {
        "type": "TemplateProcessing",
        "single": single,
        "pair": [*single, sequence("B", 1), special(sep_token, 1)],
        "special_tokens": {
            cls_token: {"id": cls_token, "ids": [cls_id], "tokens": [cls_token]},
            sep_token: {"id": sep_token, "ids": [sep_id], "tokens": [sep_token]},
        },
    }


def write_hf_files(directory: Path, spec: dict, roles: dict[str, str], **config) -> None:
    """Write ``tokenizer.json`` and a ``tokenizer_config.json`` naming the special-token roles.

    ``PreTrainedTokenizerFast`` reads everything from ``tokenizer.json``; the config tells
    ``AutoTokenizer`` which class to use and which token pads, masks, ... (``roles``).
    """
    (directory / "tokenizer.json").write_text(
        json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    hf_config = {"tokenizer_class": "PreTrainedTokenizerFast", **roles, **config}
    (directory / "tokenizer_config.json").write_text(
        json.dumps(hf_config, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def bos_template(bos_token: str, bos_id: int) -> dict:
    """``<bos> $A`` (and ``<bos> $A <bos> $B``) as a ``TemplateProcessing`` (Llama style)."""
    bos = {"SpecialToken": {"id": bos_token, "type_id": 0}}
    return {
        "type": "TemplateProcessing",
        "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos_token: {"id": bos_token, "ids": [bos_id], "tokens": [bos_token]}},
    }


# ----- export ---------------------------------------------------------------------------------------
def to_tokenizer_json(tok: Tokenizer) -> dict:
    """The HF ``tokenizers`` serialization of ``tok`` (word-level, byte-level BPE or WordPiece)."""
    for kind, to_json in ((ByteLevelBPETokenizer, _byte_level_json), (WordPieceTokenizer, _wordpiece_json),
                          (WordLevelTokenizer, _word_level_json)):
        if isinstance(tok, kind):
            spec = to_json(tok)
            # tokens from add_tokens: matched whole on the raw text, not special
            spec["added_tokens"] += [
                {**entry, "special": False} for entry in added_tokens(tok.added_tokens)
            ]
            return spec
    raise ConfigError(f"{type(tok).__name__} has no tokenizer.json form here (word-level, byte-level, WordPiece)")


def _word_level_json(tok: WordLevelTokenizer) -> dict:
    """[Lowercase] + regex Split + WordLevel. No post-processor and no decoder: ``encode`` adds no
    special tokens, and HF joins decoded tokens with spaces like ``decode`` does."""
    return tokenizer_json(
        model={"type": "WordLevel", "vocab": tok.vocab, "unk_token": tok.unk_token},
        special_tokens=tok.special_tokens,
        normalizer={"type": "Lowercase"} if tok.lowercase else None,  # per character, as ours
        # keep the regex matches, drop what lies between them (whitespace), as HF's Whitespace
        pre_tokenizer={
            "type": "Split",
            "pattern": {"Regex": WORD_PUNCT_PATTERN},
            "behavior": "Removed",
            "invert": True,
        },
    )


def _byte_level_json(tok: ByteLevelBPETokenizer) -> dict:
    byte_level = {"type": "ByteLevel", "add_prefix_space": tok.add_prefix_space, "trim_offsets": True}
    steps = []
    if tok.split_digits:
        steps.append({"type": "Digits", "individual_digits": True})
    if tok.pattern == GPT2_PATTERN:
        steps.append({**byte_level, "use_regex": True})
    else:
        steps.append({"type": "Split", "pattern": {"Regex": tok.pattern}, "behavior": "Isolated", "invert": False})
        steps.append({**byte_level, "use_regex": False})
    pre = steps[0] if len(steps) == 1 else {"type": "Sequence", "pretokenizers": steps}
    post = {**byte_level, "trim_offsets": False, "use_regex": True}
    if tok.add_bos_token:
        post = bos_template(tok.bos_token, tok.bos_token_id)
    return tokenizer_json(
        special_tokens=tok.special_tokens,
        normalizer={"type": "Lowercase"} if tok.lowercase else None,
        pre_tokenizer=pre,
        post_processor=post,
        decoder={**byte_level, "use_regex": True},
        model={
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": tok.ignore_merges,
            "vocab": tok.vocab,
            "merges": [list(m) for m in tok.merges],
        },
    )


def _wordpiece_json(tok: WordPieceTokenizer) -> dict:
    """``BertNormalizer`` + ``BertPreTokenizer`` + WordPiece + ``[CLS] $A [SEP]``."""
    return tokenizer_json(
        model={
            "type": "WordPiece",
            "unk_token": tok.unk_token,
            "continuing_subword_prefix": tok.prefix,
            "max_input_chars_per_word": tok.max_input_chars_per_word,
            "vocab": tok.vocab,
        },
        special_tokens=tok.special_tokens,
        # basic_normalize always cleans the text and spaces out CJK ideographs
        normalizer={
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": tok.strip_accents,
            "lowercase": tok.lowercase,
        },
        pre_tokenizer={"type": "BertPreTokenizer"},
        post_processor=bert_template(tok.cls_token, tok.cls_token_id, tok.sep_token, tok.sep_token_id),
        decoder={"type": "WordPiece", "prefix": tok.prefix, "cleanup": True},
    )


# ----- import ---------------------------------------------------------------------------------------
def load_tokenizer_json(path: str | Path) -> Tokenizer:
    """An HF ``tokenizer.json`` (or the folder holding one): byte-level BPE or WordPiece."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} does not exist; pass a tokenizer.json file or its folder")
    spec = read_json(path)
    model_type = spec.get("model", {}).get("type")
    if model_type == "WordPiece":
        tok = _wordpiece_from(spec)
    elif model_type == "BPE":
        tok = _byte_level_from(spec, path)
    else:
        raise ConfigError(
            f"{str(path)!r}: tokenizer.json model type {model_type!r} is not supported "
            "(supported: BPE with ByteLevel, WordPiece)"
        )
    # added_tokens, for every kind: special ones (matched whole, skipped by decode) and the plain
    # ones of add_tokens
    entries = spec.get("added_tokens", [])
    return restore_added_tokens(
        tok,
        special=[t["content"] for t in entries if t.get("special", True)],
        plain=[t["content"] for t in entries if not t.get("special", True)],
    )


def _byte_level_from(spec: dict, path: Path) -> ByteLevelBPETokenizer:
    model = spec["model"]
    normalizer = spec.get("normalizer")
    lowercase = normalizer is not None and normalizer.get("type") == "Lowercase"
    if normalizer is not None and not lowercase:
        raise ConfigError(
            f"{str(path)!r} has normalizer {spec['normalizer'].get('type')!r}; byte-level BPE here "
            "supports tokenizer.json files without a normalizer or with Lowercase (GPT-2, RoBERTa, SmolLM2 style)"
        )
    pattern, split_digits, add_prefix_space = _parse_pre_tokenizer(spec.get("pre_tokenizer"), path)
    specials = {t["content"]: t["id"] for t in spec.get("added_tokens", []) if t.get("special", True)}
    bos = _template_bos(spec.get("post_processor"))
    return ByteLevelBPETokenizer(
        model["vocab"],
        model["merges"],
        specials,
        pattern,
        split_digits=split_digits,
        add_prefix_space=add_prefix_space,
        ignore_merges=bool(model.get("ignore_merges", False)),
        add_bos_token=bos is not None,
        lowercase=lowercase,
        **({"bos_token": bos} if bos is not None else {}),
    )


def _template_bos(post: dict | None) -> str | None:
    """The token a ``TemplateProcessing`` puts before ``$A`` (Llama's ``<s> $A``), if any."""
    if not post or post.get("type") != "TemplateProcessing":
        return None
    single = post.get("single", [])
    if len(single) >= 2 and "SpecialToken" in single[0] and "Sequence" in single[1]:
        return single[0]["SpecialToken"]["id"]
    return None


def _parse_pre_tokenizer(spec: dict | None, path: Path) -> tuple[str, bool, bool]:
    """HF pre_tokenizer JSON -> (pattern, split_digits, add_prefix_space)."""
    steps = (
        [] if spec is None else spec.get("pretokenizers", [spec]) if spec["type"] == "Sequence" else [spec]
    )
    pattern, split_digits, add_prefix_space = None, False, False
    for step in steps:
        kind = step["type"]
        if kind == "Digits" and step.get("individual_digits"):
            split_digits = True
        elif kind == "Split" and "Regex" in step.get("pattern", {}) and step.get("behavior") == "Isolated":
            pattern = step["pattern"]["Regex"]
        elif kind == "ByteLevel":
            add_prefix_space = bool(step.get("add_prefix_space", False))
            if step.get("use_regex", True):
                pattern = pattern or GPT2_PATTERN
        else:
            raise ConfigError(f"{str(path)!r}: pre-tokenizer step {kind!r} ({step}) is not supported")
    if pattern is None:
        raise ConfigError(f"{str(path)!r}: no ByteLevel regex or Split pattern found in the pre-tokenizer")
    return pattern, split_digits, add_prefix_space


def _wordpiece_from(spec: dict) -> WordPieceTokenizer:
    model = spec["model"]
    norm = spec.get("normalizer") or {}
    lowercase = bool(norm.get("lowercase", False)) if norm.get("type") == "BertNormalizer" else False
    return WordPieceTokenizer(
        model["vocab"],
        lowercase=lowercase,
        strip_accents=norm.get("strip_accents"),
        max_input_chars_per_word=model.get("max_input_chars_per_word", 100),
        continuing_prefix=model.get("continuing_subword_prefix", "##"),
        unk_token=model.get("unk_token", "[UNK]"),
    )
