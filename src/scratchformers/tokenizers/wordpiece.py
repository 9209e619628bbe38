"""BERT's tokenizer: basic tokenization + greedy longest-match WordPiece with ``##`` pieces.

Basic tokenization follows HF ``tokenizers``' ``BertNormalizer`` and ``BertPreTokenizer`` step by
step (the order matters for parity): remove control characters and turn whitespace into spaces,
put spaces around CJK ideographs, strip accents (NFD, drop non-spacing marks), lower-case
character by character, then split on whitespace and isolate every punctuation character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.alignment import locate, normalize_aligned, to_original
from scratchformers.tokenizers.base import Tokenizer, check_texts
from scratchformers.tokenizers.pretokenize import lower_per_char
from scratchformers.tokenizers.wordpiece_training import learn_wordpiece_vocab

_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # the first four are required
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _is_cjk(c: str) -> bool:
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(c: str) -> bool:
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:  # ASCII punctuation
        return True
    return unicodedata.category(c).startswith("P")


def _is_whitespace(c: str) -> bool:
    return c in "\t\n\r" or c.isspace()


def _is_control(c: str) -> bool:
    """HF's ``is_control``: Cc, Cf, Co, Cs, but not \\t \\n \\r. Unassigned (Cn) characters are
    kept, as the Rust ``unicode_categories`` tables do (measured: ``"a\\u0378b"`` -> [UNK])."""
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")


def basic_normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None) -> str:
    """HF ``BertNormalizer``: clean text, space out CJK, strip accents, lower-case."""
    if not text.isascii() or _ASCII_CONTROL.search(text):  # plain printable ASCII needs no cleaning
        chars = []
        for c in text:
            if c == "\x00" or c == "\ufffd" or _is_control(c):
                continue
            if _is_whitespace(c):
                chars.append(" ")
            elif _is_cjk(c):
                chars.append(f" {c} ")
            else:
                chars.append(c)
        text = "".join(chars)
    if lowercase if strip_accents is None else strip_accents:
        if not text.isascii():
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lowercase:
        text = lower_per_char(text)  # per character, like Rust ("Σ" -> "σ" even at a word end)
    return text


def basic_split(text: str) -> list[str]:
    """HF ``BertPreTokenizer``: split on whitespace, each punctuation character on its own."""
    words: list[str] = []
    for chunk in text.split():
        if chunk.isalnum():
            words.append(chunk)
            continue
        start = 0
        for i, c in enumerate(chunk):
            if _is_punctuation(c):
                if start < i:
                    words.append(chunk[start:i])
                words.append(c)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPieceTokenizer(Tokenizer):
    """BERT WordPiece. ``encode`` adds ``[CLS] ... [SEP]`` like HF (``add_special_tokens=True``)."""

    kind = "wordpiece"

    def __init__(
        self,
        vocab: dict[str, int],
        *,
        lowercase: bool = True,
        strip_accents: bool | None = None,
        max_input_chars_per_word: int = 100,
        continuing_prefix: str = "##",
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        mask_token: str = "[MASK]",
    ):
        self.vocab = dict(vocab)
        for token in (unk_token, cls_token, sep_token, pad_token):
            if token not in self.vocab:
                raise ConfigError(
                    f"special token {token!r} is not in the WordPiece vocabulary; is this a BERT vocab.txt?"
                )
        specials = {
            t: self.vocab[t]
            for t in (pad_token, unk_token, cls_token, sep_token, mask_token)
            if t in self.vocab
        }
        super().__init__(
            specials,
            unk_token=unk_token,
            cls_token=cls_token,
            sep_token=sep_token,
            pad_token=pad_token,
            mask_token=mask_token if mask_token in self.vocab else None,
        )
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.max_input_chars_per_word = max_input_chars_per_word
        self.prefix = continuing_prefix
        self._id_to_token = {i: t for t, i in self.vocab.items()}
        self._word_cache: dict[str, list[int]] = {}

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = BERT_SPECIALS,
        min_frequency: int = 0,
        limit_alphabet: int | None = None,
        initial_alphabet: Iterable[str] = (),
        continuing_prefix: str = "##",
        lowercase: bool = True,
        strip_accents: bool | None = None,
        show_progress: bool = True,
    ) -> WordPieceTokenizer:
        """Learn a WordPiece vocabulary from ``texts`` as HF's ``WordPieceTrainer`` (BPE merges
        with ``##`` continuations; see ``wordpiece_training``). Options as HF's trainer."""

        missing = [t for t in BERT_SPECIALS[:4] if t not in special_tokens]  # what the constructor needs
        if missing:
            raise ConfigError(
                f"special_tokens={list(special_tokens)} lack {', '.join(map(repr, missing))}; a WordPieceTokenizer needs "
                f"{list(BERT_SPECIALS[:4])} (and may have '[MASK]'): add them before training"
            )

        def split(text: str) -> list[str]:
            return basic_split(basic_normalize(text, lowercase, strip_accents))

        vocab = learn_wordpiece_vocab(
            check_texts(texts, cls), vocab_size, split,
            special_tokens=special_tokens, min_frequency=min_frequency, limit_alphabet=limit_alphabet,
            initial_alphabet=initial_alphabet, continuing_prefix=continuing_prefix, show_progress=show_progress,
        )
        return cls(vocab, lowercase=lowercase, strip_accents=strip_accents, continuing_prefix=continuing_prefix)

    # ----- encoding -----------------------------------------------------------------------------
    def _wordpiece(self, word: str) -> list[int]:
        """Greedy longest match from the left; any unmatched position makes the word ``[UNK]``."""
        vocab, unk = self.vocab, [self.vocab[self.unk_token]]
        if len(word) > self.max_input_chars_per_word:
            return unk
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                token_id = vocab.get(piece)
                if token_id is not None:
                    ids.append(token_id)
                    break
                end -= 1
            if end == start:
                return unk
            start = end
        return ids

    def encode_words(self, text: str) -> list[int]:
        """WordPiece ids without the added ``[CLS]``/``[SEP]`` (special tokens in the text stay one id)."""
        return self._encode_with_specials(text, self._encode_plain)

    def _encode_plain(self, text: str) -> list[int]:
        cache, ids = self._word_cache, []
        for word in basic_split(basic_normalize(text, self.lowercase, self.strip_accents)):
            pieces = cache.get(word)
            ids.extend(pieces if pieces is not None else self._cached_wordpiece(word))
        return ids

    def _cached_wordpiece(self, word: str) -> list[int]:
        """:meth:`_wordpiece` through the word cache that encoding and offsets share."""
        pieces = self._word_cache.get(word)
        if pieces is None:
            if len(self._word_cache) > 200_000:
                self._word_cache.clear()
            pieces = self._word_cache[word] = self._wordpiece(word)
        return pieces

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = self.encode_words(text)
        return [self.cls_token_id, *ids, self.sep_token_id] if add_special_tokens else ids

    def encode_pair(self, text: str, text_pair: str, max_length: int | None = None) -> dict:
        """``[CLS] a [SEP] b [SEP]`` -> ``{"input_ids", "token_type_ids", "attention_mask"}``."""
        out = self(text, text_pair, truncation=max_length is not None, max_length=max_length)
        return {k: out[k] for k in ("input_ids", "token_type_ids", "attention_mask")}

    # ----- calling: template and offsets --------------------------------------------------------
    encodes_pairs = True
    has_token_type_ids = True

    def _template(self, pair: bool) -> tuple[list[int], list[int], list[int]]:
        cls_id, sep_id = self.cls_token_id, self.sep_token_id
        return ([cls_id], [sep_id], [sep_id]) if pair else ([cls_id], [], [sep_id])

    def _normalize_char(self, c: str) -> str:
        """:func:`basic_normalize` of one character (offsets follow each character)."""
        if c == "\x00" or c == "\ufffd" or _is_control(c):
            return ""
        if _is_whitespace(c):
            return " "
        if _is_cjk(c):
            return f" {c} "
        if self.lowercase if self.strip_accents is None else self.strip_accents:
            c = "".join(x for x in unicodedata.normalize("NFD", c) if unicodedata.category(x) != "Mn")
        return c.lower() if self.lowercase else c

    def _plain_spans(self, text: str) -> list[tuple[int, int, int, int]]:
        if text.isascii() and not _ASCII_CONTROL.search(text):
            norm, origin = (text.lower() if self.lowercase else text), None
        else:
            norm, origin = normalize_aligned(text, self._normalize_char)
        unk, out, pos = self.vocab[self.unk_token], [], 0
        words = basic_split(norm)
        for n, (word, start) in enumerate(zip(words, locate(words, norm))):
            ids = self._cached_wordpiece(word)
            lengths = [len(word)] if ids == [unk] else [
                len(self._id_to_token[i]) - (len(self.prefix) if k else 0) for k, i in enumerate(ids)
            ]
            pos = start
            for token_id, length in zip(ids, lengths):
                out.append((token_id, *to_original((pos, pos + length), origin, len(norm)), n))
                pos += length
        return out

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids)
        specials = set(self.special_tokens.values())
        tokens = [self._id_to_token[i] for i in ids if not (skip_special_tokens and i in specials)]
        # HF's WordPiece decoder: "##" pieces glue on, others get a space; the cleanup (" ." -> ".")
        # runs on each token, so " ' " patterns spanning tokens stay as they are.
        out = []
        for i, token in enumerate(tokens):
            if token.startswith(self.prefix):
                token = token[len(self.prefix) :]
            elif i > 0:
                token = " " + token
            for before, after in _CLEANUP:
                token = token.replace(before, after)
            out.append(token)
        return "".join(out)

