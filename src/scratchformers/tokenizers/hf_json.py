"""Export to Hugging Face's ``tokenizer.json`` (+ a ``tokenizer_config.json`` for transformers).

Each tokenizer class builds only its own parts (model, normalizer, pre-tokenizer, ...); the
envelope, the added special tokens, BERT's template post-processor and the file writing live here
once, so every ``save`` produces a folder that ``tokenizers.Tokenizer.from_file`` and
``transformers.AutoTokenizer.from_pretrained`` load and that encodes with the same ids as ours.
"""

from __future__ import annotations

import json
from pathlib import Path


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
