"""Pre-tokenization: cutting text into the pieces that BPE/WordPiece then split further.

Byte-level BPE (GPT-2, tiktoken, SmolLM2) cuts text with a regex and maps every byte of each piece
to a printable unicode character (``bytes_to_unicode``), so a vocabulary of strings can hold any
byte. Word-level and classic BPE cut on whitespace and isolate punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import regex

from scratchformers.errors import ConfigError

# GPT-2's pattern (openai/gpt-2 encoder.py), also what HF's ByteLevel pre-tokenizer uses.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# cl100k_base (GPT-3.5/4): case-insensitive contractions, numbers in groups of at most 3 digits.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
# o200k_base (GPT-4o): case-aware word pieces, contractions glued to the word.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
# The same regex as tiktoken spells it (possessive quantifiers): identical pieces, about 25% faster.
_GPT2_FAST = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
PATTERNS = {"gpt2": GPT2_PATTERN, "cl100k": CL100K_PATTERN, "o200k": O200K_PATTERN}
# The same regex for ASCII text only, in the standard library's ``re``, about 2x faster than the
# ``regex`` module there. On ASCII, \p{L} is [A-Za-z], \p{N} is [0-9], and the ``regex`` module's
# \s is [\t\n\v\f\r ] (``re``'s \s would add \x1c-\x1f: spelled out so it does not).
# Possessive quantifiers need Python 3.11's ``re``; before that the ``regex`` module serves all text.
_ASCII_SPACE = r"[\t\n\x0b\x0c\r ]"
_GPT2_ASCII = (
    rf"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]++| ?[0-9]++| ?[^\t\n\x0b\x0c\r A-Za-z0-9]++|{_ASCII_SPACE}++$|"""
    rf"""{_ASCII_SPACE}+(?![^\t\n\x0b\x0c\r ])|{_ASCII_SPACE}"""
)
try:
    _GPT2_ASCII_FINDALL = re.compile(_GPT2_ASCII).findall
except re.error:  # Python 3.10: no possessive quantifiers in re
    _GPT2_ASCII_FINDALL = None

# Word-level and classic BPE: runs of word characters, or one punctuation mark at a time. This is
# ``\w+|[^\w\s]`` with ``\w`` spelled out as the `regex` module defines it (checked equal on every
# code point), because Oniguruma (HF ``tokenizers``) reads a bare ``\w`` differently ("²" is a word
# character there): spelled out, the exported ``tokenizer.json`` splits the same way.
_WORD_CHAR = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}"
WORD_PUNCT_PATTERN = rf"[{_WORD_CHAR}]+|[^{_WORD_CHAR}\s]"


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table.

    Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, ...) are
    shifted to code points 256+, so no token string ever contains whitespace or control chars.
    """
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    table, shift = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def resolve_pattern(pattern: str | None) -> str:
    """``"gpt2"``/``"cl100k"``/``"o200k"`` or a raw regex -> the regex text."""
    if pattern is None:
        return GPT2_PATTERN
    return PATTERNS.get(pattern, pattern)


@dataclass
class RegexPreTokenizer:
    """Cuts text with ``pattern``; ``split_digits`` first isolates every digit (SmolLM2, StarCoder).

    With ``split_digits`` the text is cut at each digit *before* the regex runs, like HF's
    ``Sequence([Digits(individual_digits=True), ByteLevel()])``: ``"  1"`` gives ``"  ", "1"``.
    """

    pattern: str = GPT2_PATTERN
    split_digits: bool = False
    _regex: regex.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        self.pattern = resolve_pattern(self.pattern)
        try:
            self._regex = regex.compile(_GPT2_FAST if self.pattern == GPT2_PATTERN else self.pattern)
        except regex.error as err:
            raise ConfigError(
                f"pre-tokenizer pattern {self.pattern!r} is not a valid regex ({err}); "
                f"use one of {sorted(PATTERNS)} or a valid `regex` module pattern"
            ) from None
        self._digits = regex.compile(r"(\p{N})")
        if not self.split_digits:
            self.split = self._regex.findall  # bound C method: no Python frame per call
            if self.pattern == GPT2_PATTERN and _GPT2_ASCII_FINDALL is not None:
                self.split = _gpt2_split

    def split(self, text: str) -> list[str]:
        """Text -> pieces. (Without ``split_digits`` this is the regex's own ``findall``.)"""
        pieces: list[str] = []
        for segment in self._digits.split(text):  # odd positions are single digits
            if segment:
                pieces.extend(self._regex.findall(segment))
        return pieces


_GPT2_FINDALL = regex.compile(_GPT2_FAST).findall


def _gpt2_split(text: str) -> list[str]:
    """GPT-2's pieces: the ``re`` twin of the pattern for ASCII text, the ``regex`` module otherwise."""
    return _GPT2_ASCII_FINDALL(text) if text.isascii() else _GPT2_FINDALL(text)


def lower_per_char(text: str) -> str:
    """Lower-case one character at a time, like Rust's ``char::to_lowercase`` in HF's ``Lowercase``
    and ``BertNormalizer``: ``"Σ"`` always becomes ``"σ"`` (``str.lower`` gives a word-final ``"ς"``)."""
    return text.lower() if "Σ" not in text else "".join(c.lower() for c in text)


def word_punct_split(text: str) -> list[str]:
    """``"Hello, world!"`` -> ``["Hello", ",", "world", "!"]``."""
    return word_punct_regex().findall(text)


def split_words(text: str, lowercase: bool = False) -> list[str]:
    """The words of the word-level and classic BPE tokenizers: optional per-character lower-casing,
    then :func:`word_punct_split`. Training and encoding both split with this."""
    return word_punct_split(lower_per_char(text) if lowercase else text)


@lru_cache(maxsize=1)
def word_punct_regex() -> regex.Pattern:
    return regex.compile(WORD_PUNCT_PATTERN)


class SpecialTokenSplitter:
    """Cuts text around special-token strings (longest match first) so each becomes one id."""

    def __init__(self, special_tokens):
        tokens = sorted(special_tokens, key=len, reverse=True)
        self._regex = regex.compile("(" + "|".join(regex.escape(t) for t in tokens) + ")") if tokens else None

    def found_in(self, text: str) -> bool:
        return self._regex is not None and self._regex.search(text) is not None

    def split(self, text: str) -> list[tuple[str, bool]]:
        """-> [(chunk, is_special)], in order, chunks non-empty."""
        if self._regex is None:
            return [(text, False)] if text else []
        out = []
        for i, chunk in enumerate(self._regex.split(text)):
            if chunk:
                out.append((chunk, i % 2 == 1))
        return out
