"""Tokenizer checks on sample text: unknown-token rate, merges not applied, silent truncation.

Works with scratchformers tokenizers, Hugging Face tokenizers (``transformers`` and ``tokenizers``)
and tiktoken encodings, through the small adapters below.
"""

from __future__ import annotations

from scratchformers.doctor.findings import Finding, Report

UNK_WARN, UNK_FAIL = 0.01, 0.05


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of ``text`` without special tokens, whatever the tokenizer library."""
    if hasattr(tokenizer, "encode"):
        try:
            result = tokenizer.encode(text, add_special_tokens=False)
        except TypeError:
            result = tokenizer.encode(text)
    else:
        result = tokenizer(text)["input_ids"]
    return list(result.ids) if hasattr(result, "ids") else list(result)


def unk_id(tokenizer) -> int | None:
    value = getattr(tokenizer, "unk_token_id", None)
    if isinstance(value, int):
        return value
    to_id = getattr(tokenizer, "token_to_id", None)
    if callable(to_id):
        for token in ("[UNK]", "<unk>", "<|unk|>"):
            found = to_id(token)
            if found is not None:
                return found
    return None


def token_string(tokenizer, token_id: int) -> str:
    for method in ("convert_ids_to_tokens", "id_to_token"):
        fn = getattr(tokenizer, method, None)
        if callable(fn):
            out = fn(token_id)
            if isinstance(out, str):
                return out
    if hasattr(tokenizer, "decode_single_token_bytes"):  # tiktoken
        return tokenizer.decode_single_token_bytes(token_id).decode("utf-8", "replace")
    return tokenizer.decode([token_id])


def _is_subword(tokenizer) -> bool:
    """BPE/WordPiece/tiktoken, as opposed to a deliberate character-level tokenizer."""
    name = type(tokenizer).__name__.lower()
    if "char" in name:
        return False
    model = getattr(tokenizer, "model", None)
    return any(k in name for k in ("bpe", "bytelevel", "wordpiece", "encoding", "gpt", "bert", "fast")) or (
        model is not None and any(k in type(model).__name__.lower() for k in ("bpe", "wordpiece"))
    ) or hasattr(tokenizer, "merges") or hasattr(tokenizer, "bpe_ranks")


def _without_truncation(tokenizer):
    """A ``tokenizers.Tokenizer`` configured to truncate/pad (tokenizer.json often is) hides the
    real lengths: measure on a copy without either; return (copy, its truncation length)."""
    if not (hasattr(tokenizer, "no_truncation") and hasattr(tokenizer, "to_str")):
        return tokenizer, None
    limit = (tokenizer.truncation or {}).get("max_length")
    copy = type(tokenizer).from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy, limit


def check_tokenizer(tokenizer, texts: list[str] | str, *, max_length: int | None = None) -> Report:
    """Unknown-token rate, single-character output of a subword tokenizer, and how many texts a
    ``max_length`` truncation would cut (silently; a tokenizer.json with truncation counts too)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    report = Report(f"doctor: tokenizer {type(tokenizer).__name__}")
    tokenizer, built_in_limit = _without_truncation(tokenizer)
    max_length = max_length or built_in_limit
    encoded = [encode(tokenizer, t) for t in texts]
    n_tokens = sum(len(e) for e in encoded)
    if n_tokens == 0:
        report.add(Finding("tokenizer.unk", "skip", "the sample text produced no tokens"))
        return report
    unk = unk_id(tokenizer)
    if unk is None:
        report.add(Finding("tokenizer.unk", "ok", "no unknown token (byte-level vocabulary covers every input)"))
    else:
        count = sum(e.count(unk) for e in encoded)
        rate = count / n_tokens
        status = "fail" if rate > UNK_FAIL else "warn" if rate > UNK_WARN else "ok"
        report.add(Finding(
            "tokenizer.unk", status, f"{count}/{n_tokens} tokens ({rate:.1%}) are the unknown token (id {unk})",
            cause="" if status == "ok" else "the vocabulary does not cover this text (another language, emoji, "
                  "accents stripped differently, a cased text with an uncased vocab)",
            fix="" if status == "ok" else "use the tokenizer that matches the model and the text; or a byte-level BPE",
        ))
    chars = sum(len("".join(t.split())) for t in texts)
    per_token = chars / n_tokens
    if _is_subword(tokenizer) and n_tokens >= 20 and per_token <= 1.1:
        sample = [token_string(tokenizer, i) for i in encoded[0][:8]]
        report.add(Finding(
            "tokenizer.merges", "fail",
            f"{per_token:.2f} characters per token: the subword tokenizer outputs single characters ({sample})",
            cause="the merges were not applied: merges file missing/empty, or loaded from the wrong path",
            fix="load vocab + merges together (e.g. from the model folder's tokenizer.json / vocab.bpe)",
        ))
    else:
        report.add(Finding("tokenizer.merges", "ok", f"{per_token:.2f} characters per token"))
    if max_length is None:
        limit = getattr(tokenizer, "model_max_length", None)
        max_length = limit if isinstance(limit, int) and limit < 1_000_000 else None
    if max_length is None:
        report.add(Finding("tokenizer.truncation", "skip", "no max_length given"))
    else:
        long = [len(e) for e in encoded if len(e) > max_length]
        if long:
            lost = sum(n - max_length for n in long)
            report.add(Finding(
                "tokenizer.truncation", "warn",
                f"{len(long)}/{len(texts)} texts exceed max_length={max_length} tokens (longest {max(long)}); "
                f"truncation silently drops {lost}/{n_tokens} tokens ({lost / n_tokens:.1%})",
                cause="everything past max_length never reaches the model (a review's verdict is often at the end)",
                fix="raise max_length, keep the end (truncation_side='left'), or split into overlapping windows",
            ))
        else:
            report.add(Finding("tokenizer.truncation", "ok", f"every text fits in {max_length} tokens"))
    return report
