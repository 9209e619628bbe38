"""Character offsets through normalization: which original character each token came from.

A normalizer may drop characters (controls), grow one into several (``"İ".lower()`` is two,
a CJK ideograph gets spaces around it) or shrink a decomposition (accent stripping). Each
normalized character remembers the index of the original character it came from (``origin``),
so a token covering normalized characters ``[s, e)`` spans ``(origin[s], origin[e - 1] + 1)``
of the original text: the convention of HF ``tokenizers``' alignments.

Byte-level tokens may end inside a character; a token covering bytes ``[b0, b1)`` of a piece
spans every character one of those bytes belongs to (two tokens of one emoji share its span).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate

Span = tuple[int, int]


def normalize_aligned(text: str, per_char: Callable[[str], str]) -> tuple[str, list[int] | None]:
    """``("".join(per_char(c) for c in text), origin)``; ``origin`` is ``None`` when nothing moved
    (every character became exactly one character), so offsets are the identity."""
    pieces = [per_char(c) for c in text]
    if all(len(p) == 1 for p in pieces):
        return "".join(pieces), None
    origin = [i for i, p in enumerate(pieces) for _ in p]
    return "".join(pieces), origin


def to_original(span: Span, origin: list[int] | None, text_length: int) -> Span:
    """A span of the normalized text -> the span of the original characters it came from."""
    start, end = span
    if origin is None:
        return span
    if start >= end:  # an empty token: a point, at the original position of ``start``
        at = origin[start] if start < len(origin) else text_length
        return (at, at)
    return (origin[start], origin[end - 1] + 1)


def byte_spans(piece: str, token_byte_lengths: Sequence[int]) -> list[Span]:
    """Character spans within ``piece`` of consecutive tokens of the given byte lengths."""
    if piece.isascii():
        ends = list(accumulate(token_byte_lengths))
        return list(zip([0, *ends[:-1]], ends))
    char_of_byte: list[int] = []
    for i, c in enumerate(piece):
        char_of_byte.extend([i] * len(c.encode("utf-8", "surrogatepass")))
    spans, pos = [], 0
    for n in token_byte_lengths:
        if n == 0 or pos >= len(char_of_byte):
            at = char_of_byte[pos] if pos < len(char_of_byte) else len(piece)
            spans.append((at, at))
        else:
            last = min(pos + n, len(char_of_byte)) - 1
            spans.append((char_of_byte[pos], char_of_byte[last] + 1))
        pos += n
    return spans


def locate(pieces: Sequence[str], text: str) -> list[int]:
    """Start of each piece in ``text`` (pieces in order, possibly with gaps between them)."""
    starts, pos = [], 0
    for piece in pieces:
        pos = text.find(piece, pos)
        starts.append(pos)
        pos += len(piece)
    return starts
