"""Calling a tokenizer: texts (or pairs, or pre-split words) -> a padded, truncated BatchEncoding.

One example goes through four steps, the order of HF ``tokenizers``:

1. encode the text (and the pair) without added special tokens, as items: an id alone on the
   fast path, ``(id, start, end, word)`` when offsets or word ids are needed;
2. truncate to ``max_length`` minus the special tokens the template adds (pairs: longest first),
   from the right or, with ``tokenizer.truncation_side = "left"``, from the left;
3. wrap with the template's special tokens (``[CLS] a [SEP] b [SEP]``, a BOS, or nothing);
4. pad the batch (``padding_side``) and convert to tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

from scratchformers.errors import ConfigError, ShapeError
from scratchformers.tokenizers.encoding import BatchEncoding, Encoding

PADDING = (False, None, "longest", "max_length", "do_not_pad")


def check_call(padding, truncation, max_length, return_tensors, side_names: dict[str, str]) -> str | bool:
    if padding is True:
        padding = "longest"
    if padding not in PADDING:
        raise ConfigError(f"padding={padding!r}; expected False, True/'longest' or 'max_length'")
    if padding == "do_not_pad":
        padding = False
    if truncation not in (False, True, None, "longest_first", "do_not_truncate"):  # no only_first/only_second
        raise ConfigError(f"truncation={truncation!r}; expected True/'longest_first' or False")
    if (truncation not in (False, None, "do_not_truncate") or padding == "max_length") and max_length is None:
        raise ConfigError(f"truncation={truncation!r}, padding={padding!r} need max_length; pass max_length=N")
    if max_length is not None and max_length < 1:
        raise ConfigError(f"max_length={max_length}; expected a positive number of tokens")
    if return_tensors not in (None, "pt"):
        raise ConfigError(f"return_tensors={return_tensors!r}; expected None or 'pt'")
    for name, value in side_names.items():
        if value not in ("left", "right"):
            raise ConfigError(f"{name}={value!r}; expected 'left' or 'right'")
    return padding


def truncate_pair(a: list, b: list | None, budget: int, side: str) -> tuple[list, list | None]:
    """HF ``tokenizers``' ``longest_first``: the shorter keeps what it can, the longer the rest;
    ``side="left"`` drops tokens from the start instead of the end."""
    budget = max(0, budget)
    if b is None:
        n1, n2 = budget, 0
    elif len(a) + len(b) <= budget:
        return a, b
    else:
        n1 = min(len(a), len(b))  # the shorter one keeps what it can
        n2 = n1 if n1 > budget else max(n1, budget - n1)
        if n1 + n2 > budget:  # both are long: halves, the odd token to the longer one
            n1, n2 = budget // 2, budget // 2 + budget % 2
        if len(a) > len(b):
            n1, n2 = n2, n1
        n2 = min(n2, len(b))
    n1 = min(n1, len(a))

    def cut(items: list, n: int) -> list:
        return items[len(items) - n :] if side == "left" else items[:n]

    return cut(a, n1), (cut(b, n2) if b is not None else None)


def build_example(tok, text, pair, *, add_special_tokens: bool, limit: int | None, spans: bool, words: bool):
    """(ids or span items, type ids or None, sequence ids) for one example, truncated and wrapped."""
    if pair is not None and not tok.encodes_pairs:  # before encoding anything
        raise ConfigError(f"{type(tok).__name__} does not encode text pairs; pass single texts")
    a = tok._items(text, spans=spans, words=words)
    b = tok._items(pair, spans=spans, words=words) if pair is not None else None
    before, between, after = tok._template(pair is not None) if add_special_tokens else ([], [], [])
    if limit is not None:
        a, b = truncate_pair(a, b, limit - len(before) - len(between) - len(after), tok.truncation_side)
    special = (lambda i: (i, 0, 0, None)) if spans else (lambda i: i)
    items = [*map(special, before), *a, *map(special, between)]
    seq = [None] * len(before) + [0] * len(a) + [None] * len(between)
    first = len(items)
    if b is not None:
        items += b
        seq += [1] * len(b)
    items += map(special, after)
    seq += [None] * len(after)
    types = None
    if tok.has_token_type_ids:
        types = [0] * first + [1] * (len(items) - first) if b is not None else [0] * len(items)
    return items, types, seq


def as_examples(text, text_pair, is_split_into_words: bool) -> tuple[list, list | None, bool]:
    """HF's reading of the first argument -> (texts, pairs, batched)."""

    def is_words(x) -> bool:
        return isinstance(x, (list, tuple)) and all(isinstance(w, str) for w in x)

    if is_split_into_words:
        batched = isinstance(text, (list, tuple)) and bool(text) and not isinstance(text[0], str)
    else:
        batched = not isinstance(text, str)
    texts = list(text) if batched else [text]
    if text_pair is None:
        pairs = None
    else:
        pairs = list(text_pair) if batched else [text_pair]
        if len(pairs) != len(texts):
            raise ShapeError(f"{len(texts)} texts but {len(pairs)} text pairs; they must pair up")
    for t in texts + (pairs or []):
        if is_split_into_words and not is_words(t):
            raise ConfigError(f"is_split_into_words=True needs lists of word strings, got {type(t).__name__} {t!r:.60}")
        if not is_split_into_words and not isinstance(t, str):
            raise ConfigError(
                f"expected a text or a list of texts, got {type(t).__name__} {t!r:.60}; "
                "for lists of words pass is_split_into_words=True"
            )
    return texts, pairs, batched


def call_tokenizer(
    tok,
    text,
    text_pair=None,
    *,
    padding=False,
    truncation=False,
    max_length: int | None = None,
    return_tensors: str | None = None,
    add_special_tokens: bool = True,
    return_offsets_mapping: bool = False,
    is_split_into_words: bool = False,
    padding_side: str | None = None,
    batched: bool | None = None,
) -> BatchEncoding:
    padding_side = padding_side or tok.padding_side
    padding = check_call(
        padding, truncation, max_length, return_tensors,
        {"padding_side": padding_side, "truncation_side": tok.truncation_side},
    )
    texts, pairs, was_batched = as_examples(text, text_pair, is_split_into_words)
    batched = was_batched if batched is None else batched
    limit = max_length if truncation not in (False, None, "do_not_truncate") else None

    def examples(spans: bool):
        return [
            build_example(
                tok, t, pairs[i] if pairs is not None else None,
                add_special_tokens=add_special_tokens, limit=limit, spans=spans, words=is_split_into_words,
            )
            for i, t in enumerate(texts)
        ]

    def encodings(rows) -> list[Encoding]:
        out = []
        for items, _, seq in rows:
            ids = [it[0] for it in items]
            out.append(
                Encoding(ids, tok.convert_ids_to_tokens(ids), [(s, e) for _, s, e, _ in items],
                         [w for *_, w in items], seq)
            )
        return out

    need_spans = return_offsets_mapping or is_split_into_words
    rows = examples(need_spans)
    ids = [[it[0] for it in items] if need_spans else items for items, _, _ in rows]
    data: dict = {"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids]}
    if rows and rows[0][1] is not None:
        data["token_type_ids"] = [r[1] for r in rows]
    if return_offsets_mapping:
        data["offset_mapping"] = [[(s, e) for _, s, e, _ in items] for items, _, _ in rows]
    encoded = encodings(rows) if need_spans else None
    target = None
    if padding:
        target = _pad(tok, data, max_length if padding == "max_length" else None, padding_side)
        pad_encodings(tok, encoded, target, padding_side)

    def later() -> list[Encoding]:
        return pad_encodings(tok, encodings(examples(True)), target, padding_side)
    if return_tensors == "pt":
        data = to_tensors(data)
    elif not batched:
        data = {k: v[0] for k, v in data.items()}
    return BatchEncoding(
        data, encoded, batched=batched or return_tensors is not None,
        make_encodings=None if encoded is not None else later,
    )


def _pad(tok, data: dict, target: int | None, side: str) -> int:
    """Pad every row of ``data`` to ``target`` (None: the longest row) -> the length padded to."""
    pad_id = tok.pad_token_id
    if pad_id is None:
        raise ConfigError(
            f"padding=True but this {type(tok).__name__} has no pad token; set "
            "tokenizer.pad_token (e.g. tokenizer.pad_token = tokenizer.eos_token)"
        )
    target = target if target is not None else max((len(x) for x in data["input_ids"]), default=0)
    fills = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0, "offset_mapping": (0, 0)}
    for key, fill in fills.items():
        if key in data:
            data[key] = [pad(row, target, fill, side) for row in data[key]]
    return target


def pad_encodings(tok, encoded: list[Encoding] | None, target: int | None, side: str) -> list[Encoding] | None:
    if target is None:
        return encoded
    for e in encoded or ():
        e.ids = pad(e.ids, target, tok.pad_token_id, side)
        e.tokens = pad(e.tokens, target, tok.pad_token, side)
        e.offsets = pad(e.offsets, target, (0, 0), side)
        e.word_ids = pad(e.word_ids, target, None, side)
        e.sequence_ids = pad(e.sequence_ids, target, None, side)
    return encoded


def pad(row: Sequence, target: int, value, side: str) -> list:
    fill = [value] * max(0, target - len(row))
    return fill + list(row) if side == "left" else list(row) + fill


def to_tensors(batch: dict) -> dict:
    import torch

    lengths = {len(x) for x in batch["input_ids"]}
    if len(lengths) > 1:
        raise ShapeError(
            f"return_tensors='pt' needs equal lengths, got lengths {sorted(lengths)}; "
            "pass padding=True (or padding='max_length', max_length=N)"
        )
    # each value: (batch, seq_len) int64; offset_mapping: (batch, seq_len, 2)
    return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}
