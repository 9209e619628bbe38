"""Byte-level BPE's offsets and tiktoken's byte calls, mixed into ``ByteLevelBPETokenizer``.

Offsets: the text is cut by the pre-tokenizer regex as for encoding; within a piece, a token
covering bytes ``[b0, b1)`` spans the characters those bytes belong to (``alignment``), so the
two tokens of a split emoji both span the emoji, as HF ``tokenizers`` reports.

Bytes in: ``encode_bytes(b)`` follows tiktoken's ``_encode_bytes``: valid UTF-8 is encoded
ordinarily; otherwise the valid prefix is encoded, its last piece (with the whitespace-only
tokens before it) is taken back, joined with the invalid tail and byte-pair encoded as one piece.
"""

from __future__ import annotations

from collections.abc import Iterable

from scratchformers.tokenizers.alignment import byte_spans, locate, normalize_aligned, to_original
from scratchformers.tokenizers.pretokenize import lower_per_char

_SPACE_BYTES = frozenset(b" \n\t")


def without_surrogates(text: str) -> str:
    """tiktoken's fix-up: surrogate pairs become their character, lone surrogates U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _is_pair(text: str, i: int) -> bool:
    """A high surrogate at ``i`` followed by a low one: one character written as two code units."""
    return "\ud800" <= text[i] <= "\udbff" and i + 1 < len(text) and "\udc00" <= text[i + 1] <= "\udfff"


def without_surrogates_aligned(text: str) -> tuple[str, list[int]]:
    """:func:`without_surrogates` and the origin of each fixed character (a pair: its first code
    unit; a lone surrogate: itself, as its U+FFFD)."""
    fixed = without_surrogates(text)
    origin, i = [], 0
    for _ in fixed:
        origin.append(i)
        i += 2 if _is_pair(text, i) else 1
    return fixed, origin


def has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ByteLevelSurface:
    """Offsets, raw bytes and tiktoken-named calls for :class:`ByteLevelBPETokenizer`."""

    def _normalized(self, text: str, aligned: bool = True) -> tuple[str, list[int] | None, int]:
        """The text as encoded, for ``encode_ordinary`` and the offsets alike: a prefix space if
        asked, per-character lower-casing, then tiktoken's surrogate fix-up (in this order) ->
        (text, origin of each of its characters or None (always None unless ``aligned``),
        prefix characters added)."""
        if text.isascii() and not (self.add_prefix_space or self.lowercase):
            return text, None, 0  # the common case: nothing to do
        prefix = 1 if self.add_prefix_space and text and not text.startswith(" ") else 0
        text = " " * prefix + text
        origin = None
        if self.lowercase:  # per character, like HF's Lowercase
            text, origin = normalize_aligned(text, str.lower) if aligned else (lower_per_char(text), None)
        if has_surrogates(text):
            text, fixed = without_surrogates_aligned(text) if aligned else (without_surrogates(text), None)
            if aligned:
                origin = fixed if origin is None else [origin[i] for i in fixed]
        return text, origin, prefix

    def _plain_spans(self, text: str) -> list[tuple[int, int, int, int]]:
        norm, origin, prefix = self._normalized(text)
        pairs = origin is not None and has_surrogates(text)
        pieces = self._split(norm)
        out = []
        lengths = self._id_bytes
        for word, (piece, start) in enumerate(zip(pieces, locate(pieces, norm))):
            ids = self._cache_lookup(piece)
            for token_id, (s, e) in zip(ids, byte_spans(piece, [len(lengths[i]) for i in ids])):
                s, e = to_original((start + s, start + e), origin, len(norm))
                s, e = max(0, s - prefix), max(0, e - prefix)
                if pairs and 0 < e < len(text) and _is_pair(text, e - 1):
                    e += 1  # a token ending in a surrogate pair's character spans both code units
                out.append((token_id, s, e, word))
        return out

    # ----- tiktoken's names ---------------------------------------------------------------------------
    def encode_bytes(self, data: bytes) -> list[int]:
        """Ids of raw bytes, which need not be valid UTF-8 (tiktoken's ``_encode_bytes``)."""
        try:
            return self.encode_ordinary(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            valid = err.start
        tokens: list[int] = []
        last = 0  # tokens of the last regex piece
        for piece in self._split(data[:valid].decode("utf-8")):
            ids = self._cache_lookup(piece)
            tokens += ids
            last = len(ids)
        if last and self._all_space(tokens[-last]):  # whitespace may join what follows
            while last < len(tokens) and self._all_space(tokens[-last - 1]):
                last += 1
        unstable = self.decode_bytes(tokens[len(tokens) - last :]) + data[valid:]
        del tokens[len(tokens) - last :]
        whole = self.vocab.get("".join(self._byte_token[b] for b in unstable))
        tokens += [whole] if whole is not None else self._bpe_bytes(unstable)
        return tokens

    _encode_bytes = encode_bytes  # tiktoken's (private) name

    def _all_space(self, token_id: int) -> bool:
        return all(b in _SPACE_BYTES for b in self._id_bytes[token_id])

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The raw bytes of ``ids`` (special tokens as their UTF-8 text)."""
        return b"".join(self._id_bytes[i] for i in self._check_ids(ids))

    def decode_single_token_bytes(self, token_id: int) -> bytes:
        return self.decode_bytes([token_id])

    def decode_tokens_bytes(self, ids: Iterable[int]) -> list[bytes]:
        return [self._id_bytes[i] for i in self._check_ids(ids)]

    @property
    def n_vocab(self) -> int:
        """tiktoken's name for the number of ids."""
        return self.vocab_size

    @property
    def eot_token(self) -> int | None:
        return self.special_tokens.get("<|endoftext|>")
