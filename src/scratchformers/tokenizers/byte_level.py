"""GPT-2 style byte-level BPE: regex pieces -> bytes -> printable chars -> ranked merges.

No unknown tokens ever when the vocabulary holds all 256 byte tokens (GPT-2, tiktoken, ours). Some
vocabularies lack a few (SmolLM2's GGUF has no token for bytes 0x04, 0x16, ...): such a byte is
an error naming it, or with ``unknown_bytes="skip"`` it is dropped before the merges, as HF
``tokenizers`` does. Text with lone surrogates (``"\\ud800"``) is
encoded as tiktoken does: they become U+FFFD first.

This module is the algorithm only; reading and writing files (GPT-2 ``vocab.json`` +
``merges.txt``, HF ``tokenizer.json``, tiktoken ranks, GGUF metadata) is in ``tokenizers.formats``.

Encoding speed comes from a per-piece cache: natural text repeats its words, so after warm-up
almost every regex piece is a dict hit and the work is the regex plus a C-level ``chain``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import Tokenizer, check_texts
from scratchformers.tokenizers.byte_surface import ByteLevelSurface, without_surrogates
from scratchformers.tokenizers.merging import LONG_WORD, apply_merges, merge_ids
from scratchformers.tokenizers.pretokenize import (
    PATTERNS,
    RegexPreTokenizer,
    SpecialTokenSplitter,
    bytes_to_unicode,
    lower_per_char,
    resolve_pattern,
    unicode_to_bytes,
)
from scratchformers.tokenizers.training import count_words, learn_merges

UNKNOWN_BYTES = ("error", "skip")


class _PieceCache(dict):
    """piece -> ids, computed on a miss; cleared when full so memory stays bounded."""

    def __init__(self, compute, max_size: int):
        super().__init__()
        self._compute = compute
        self._max_size = max_size

    def __missing__(self, piece: str) -> list[int]:
        if len(self) >= self._max_size:
            self.clear()
        ids = self[piece] = self._compute(piece)
        return ids


def parse_merges(merges: Iterable) -> list[tuple[str, str]]:
    """``[("Ġ", "t"), ...]`` from pairs or ``"Ġ t"`` strings."""
    out = []
    for m in merges:
        if isinstance(m, str):
            left, sep, right = m.partition(" ")
            if not sep:
                raise ConfigError(f"merge {m!r} is not 'left right'; check the merges file")
            out.append((left, right))
        else:
            left, right = m
            out.append((left, right))
    return out


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: trained on what encode will see
        return without_surrogates(text).encode("utf-8")


class ByteLevelBPETokenizer(ByteLevelSurface, Tokenizer):
    """Byte-level BPE (GPT-2, RoBERTa, SmolLM2, tiktoken encodings).

    Args:
        vocab: token string (byte-to-unicode form, e.g. ``"Ġthe"``) -> id.
        merges: ``[("Ġ", "t"), ...]`` (or ``"Ġ t"`` strings), highest priority first.
        special_tokens: strings matched as single ids before pre-tokenization, as a list (ids
            looked up in ``vocab``, else appended) or a ``{token: id}`` dict.
        pattern: ``"gpt2"`` (default), ``"cl100k"``, ``"o200k"`` or a regex.
        split_digits: isolate every digit before the regex (SmolLM2/StarCoder).
        unknown_bytes: for a byte the vocabulary has no token for: ``"error"`` (a ``ConfigError``
            naming the byte) or ``"skip"`` (drop it, as HF ``tokenizers`` does).
        add_bos_token: ``encode(..., add_special_tokens=True)`` puts ``bos_token`` first (Llama
            style); off for GPT-2 style tokenizers, which add nothing.
        lowercase: lower-case every character before the regex (HF's ``Lowercase`` normalizer).
    """

    kind = "bytelevel"

    def __init__(
        self,
        vocab: dict[str, int],
        merges: Sequence,
        special_tokens: Sequence[str] | dict[str, int] | None = None,
        pattern: str | None = "gpt2",
        *,
        split_digits: bool = False,
        add_prefix_space: bool = False,
        ignore_merges: bool = False,
        unknown_bytes: str = "error",
        add_bos_token: bool = False,
        lowercase: bool = False,
        cache_size: int = 200_000,
        **roles,
    ):
        if unknown_bytes not in UNKNOWN_BYTES:
            raise ConfigError(f"unknown_bytes={unknown_bytes!r}; expected one of {UNKNOWN_BYTES}")
        self.vocab = dict(vocab)
        self.merges = parse_merges(merges)
        specials = self._resolve_specials(special_tokens)
        eot = "<|endoftext|>" if "<|endoftext|>" in specials else None
        roles.setdefault("bos_token", eot)
        roles.setdefault("eos_token", eot)
        super().__init__(specials, **roles)
        self.pattern = resolve_pattern(pattern)
        self.split_digits = split_digits
        self.add_prefix_space = add_prefix_space
        self.ignore_merges = ignore_merges
        self.unknown_bytes = unknown_bytes
        self.add_bos_token = add_bos_token
        self.lowercase = lowercase
        if add_bos_token and self.bos_token is None:
            raise ConfigError("add_bos_token=True needs a bos_token (e.g. bos_token='<s>', one of the special tokens)")
        self._pre = RegexPreTokenizer(self.pattern, split_digits)
        self._ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self._check_merges()
        size = max(self.vocab.values(), default=-1) + 1
        self._id_to_token: list[str | None] = [None] * size
        for token, i in self.vocab.items():
            self._id_to_token[i] = token
        u2b = unicode_to_bytes()
        # id -> raw bytes, for a decode that is one join.
        self._id_bytes = [b"" if t is None else self._token_bytes(t, u2b) for t in self._id_to_token]
        self._byte_token = bytes_to_unicode()
        self.missing_bytes = frozenset(b for b, t in self._byte_token.items() if t not in self.vocab)
        self._merges_by_id: dict[int, tuple[int, int]] | None = None
        self._cache = _PieceCache(self._encode_piece, cache_size)
        self._cache_lookup = self._cache.__getitem__
        self._split = self._pre.split

    def _store_token(self, token: str, token_id: int) -> None:
        self.vocab[token] = token_id
        self._id_to_token.append(token)
        self._id_bytes.append(self._token_bytes(token, unicode_to_bytes()))
        self._merges_by_id = None  # keyed with the vocabulary size

    def _template(self, pair: bool) -> tuple[list[int], list[int], list[int]]:
        bos = [self.bos_token_id] if self.add_bos_token and self.bos_token_id is not None else []
        return bos, [], []

    def _token_bytes(self, token: str, u2b: dict[str, int]) -> bytes:
        if token in self.special_tokens:
            return token.encode("utf-8")
        try:
            return bytes(u2b[c] for c in token)
        except KeyError:  # not a byte-level token (an added token): decode as its text
            return token.encode("utf-8")

    def _resolve_specials(self, special_tokens) -> dict[str, int]:
        if special_tokens is None:
            return {}
        if isinstance(special_tokens, dict):
            for token, i in special_tokens.items():
                self.vocab.setdefault(token, i)
            return dict(special_tokens)
        out = {}
        for token in special_tokens:
            if token not in self.vocab:
                self.vocab[token] = max(self.vocab.values(), default=-1) + 1
            out[token] = self.vocab[token]
        return out

    def _check_merges(self) -> None:
        vocab = self.vocab
        for left, right in self.merges:
            if left not in vocab or right not in vocab or left + right not in vocab:
                missing = next(t for t in (left, right, left + right) if t not in vocab)
                raise ConfigError(
                    f"merge ({left!r}, {right!r}) uses {missing!r}, which is not in the vocabulary; "
                    "are vocab and merges from the same tokenizer?"
                )

    # ----- vocabulary (ids index a list here, so id -> token is a bounds check) -------------------
    @property
    def vocab_size(self) -> int:
        return len(self._id_to_token)

    def id_to_token(self, token_id: int) -> str | None:
        return self._id_to_token[token_id] if 0 <= token_id < len(self._id_to_token) else None

    # ----- encoding -----------------------------------------------------------------------------
    def _encode_piece(self, piece: str) -> list[int]:
        data = piece.encode("utf-8")
        if self.missing_bytes and not self.missing_bytes.isdisjoint(data):
            return self._encode_around_missing(piece, data)
        return self._bpe_bytes(data)

    def _bpe_bytes(self, data: bytes) -> list[int]:
        chars = [self._byte_token[b] for b in data]
        if self.ignore_merges:
            whole = self.vocab.get("".join(chars))
            if whole is not None:
                return [whole]
        vocab = self.vocab
        if len(chars) > LONG_WORD:  # a long piece (a line without spaces): heap merge on ids
            return merge_ids([vocab[c] for c in chars], self._merge_table().get, self.vocab_size)
        return [vocab[t] for t in apply_merges(chars, self._ranks)]

    def _merge_table(self) -> dict[int, tuple[int, int]]:
        """``left_id * vocab_size + right_id -> (rank, merged_id)``, built on first use."""
        if self._merges_by_id is None:
            vocab, width = self.vocab, self.vocab_size
            self._merges_by_id = {
                vocab[a] * width + vocab[b]: (self._ranks[(a, b)], vocab[a + b]) for a, b in self.merges
            }
        return self._merges_by_id

    def _encode_around_missing(self, piece: str, data: bytes) -> list[int]:
        """A byte without a token: an error naming it, or (``"skip"``) dropped before the merges,
        so its neighbours may merge (HF ``tokenizers`` without ``unk_token``/``byte_fallback``)."""
        if self.unknown_bytes == "error":
            byte = next(b for b in data if b in self.missing_bytes)
            raise ConfigError(
                f"byte 0x{byte:02x} (in the text piece {piece!r}) has no token in this vocabulary "
                f"(it lacks bytes {sorted(self.missing_bytes)}); pass unknown_bytes='skip' to drop "
                "such bytes as HF tokenizers does, or remove them from the text"
            )
        kept = bytes(b for b in data if b not in self.missing_bytes)
        return self._bpe_bytes(kept) if kept else []

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode treating special-token text as plain text (tiktoken's ``encode_ordinary``)."""
        if self.add_prefix_space or self.lowercase or not text.isascii():
            text = self._normalized(text, aligned=False)[0]  # as the offsets see it (surrogates: as tiktoken)
        # Hot path: the regex and a C-level chain over cached piece -> ids lists.
        return list(chain.from_iterable(map(self._cache_lookup, self._split(text))))

    def encode(
        self,
        text: str,
        *,
        allowed_special: str | set[str] = "all",
        disallowed_special: str | set[str] = (),
        add_special_tokens: bool = True,
    ) -> list[int]:
        """Encode ``text``. Special-token text becomes one id if allowed, else ordinary text.

        allowed_special: ``"all"`` (default, like HF), ``"none"``, or a set of special tokens.
        disallowed_special: ``"all"`` or a set; such text raises ``ConfigError`` (tiktoken's
        safety check for untrusted input), e.g. ``encode(s, allowed_special="none",
        disallowed_special="all")`` behaves like ``tiktoken``'s ``encode``.
        add_special_tokens: as HF, ``bos_token`` in front when the tokenizer adds one
            (``add_bos_token=True``); GPT-2-style tokenizers add nothing either way.
        """
        ids = self._encode_text(text, allowed_special, disallowed_special)
        if add_special_tokens and self.add_bos_token and self.bos_token_id is not None:
            ids.insert(0, self.bos_token_id)
        return ids

    def _encode_text(self, text: str, allowed_special, disallowed_special) -> list[int]:
        if allowed_special == "all" and not disallowed_special and not self._added_splitter.found_in(text):
            return self.encode_ordinary(text)  # the common case, decided by one regex search
        allowed = self._special_set(allowed_special, "allowed_special")
        disallowed = self._special_set(disallowed_special, "disallowed_special") - allowed
        for token in disallowed:
            if token in text:
                raise ConfigError(
                    f"text contains the special token {token!r}, which is disallowed; pass "
                    f"allowed_special={{{token!r}}} to encode it as one id, or disallowed_special=() "
                    "to encode it as ordinary text"
                )
        if not (allowed or self.added_tokens) or not any(t in text for t in allowed | set(self.added_tokens)):
            return self.encode_ordinary(text)
        if allowed == set(self.special_tokens):
            splitter = self._added_splitter  # special and added tokens, longest first
        else:
            splitter = SpecialTokenSplitter(allowed | set(self.added_tokens))
        return self._encode_with_specials(text, self.encode_ordinary, splitter)

    def _special_set(self, value, name: str) -> set[str]:
        if value == "all":
            return set(self.special_tokens)
        if value in ("none", None):
            return set()
        value = set(value)
        unknown = value - set(self.special_tokens)
        if unknown:
            raise ConfigError(
                f"{name} has {sorted(unknown)}, not special tokens of this tokenizer "
                f"({sorted(self.special_tokens)})"
            )
        return value

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False, errors: str = "replace") -> str:
        ids = self._check_ids(ids)
        if skip_special_tokens:
            specials = set(self.special_tokens.values())
            ids = [i for i in ids if i not in specials]
        return b"".join(map(self._id_bytes.__getitem__, ids)).decode("utf-8", errors=errors)

    # ----- training -----------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = ("<|endoftext|>",),
        min_frequency: int = 2,
        pattern: str = "gpt2",
        split_digits: bool = False,
        lowercase: bool = False,
        show_progress: bool = True,
    ) -> ByteLevelBPETokenizer:
        """Learn a byte-level BPE from ``texts`` (strings; files: :meth:`train_from_files`).

        The merges equal HF ``tokenizers``' ``BpeTrainer`` with the ``ByteLevel`` pre-tokenizer
        and its 256-byte initial alphabet (same tie-breaking); ``lowercase`` as HF's
        ``ByteLevelBPETokenizer(lowercase=True)`` (a ``Lowercase`` normalizer).
        """
        if vocab_size < 256 + len(special_tokens):
            raise ConfigError(
                f"vocab_size={vocab_size} is smaller than the 256 byte tokens + {len(special_tokens)} "
                f"special tokens; use at least {256 + len(special_tokens)}"
            )
        pre = RegexPreTokenizer(pattern, split_digits)
        split = (lambda text: pre.split(lower_per_char(text))) if lowercase else pre.split
        word_counts = count_words(check_texts(texts, cls), split, show_progress)
        # Vocabulary: special tokens first, then the 256 byte symbols sorted by code point (as HF).
        id_to_token = list(dict.fromkeys(special_tokens))
        id_to_token += [c for c in sorted(bytes_to_unicode().values()) if c not in id_to_token]
        token_id = {t: i for i, t in enumerate(id_to_token)}
        byte_id = [token_id[bytes_to_unicode()[b]] for b in range(256)]
        to_id = byte_id.__getitem__
        words = [list(map(to_id, _utf8(w))) for w in word_counts]
        merges = learn_merges(
            words,
            list(word_counts.values()),
            id_to_token,
            vocab_size,
            min_frequency=min_frequency,
            tie_break="ids",
            show_progress=show_progress,
            kind="byte-level BPE",
        )
        vocab = {t: i for i, t in enumerate(id_to_token)}
        pairs = [(id_to_token[a], id_to_token[b]) for a, b, _ in merges]
        return cls(vocab, pairs, list(special_tokens), pattern, split_digits=split_digits, lowercase=lowercase)


__all__ = ["PATTERNS", "ByteLevelBPETokenizer"]
