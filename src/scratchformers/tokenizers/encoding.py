"""What calling a tokenizer returns: ``BatchEncoding``, a dict with HF ``transformers``' helpers.

``tok("one text")`` gives unbatched lists (``{"input_ids": [...], ...}``), ``tok([a, b])`` a list
per example, ``return_tensors="pt"`` always ``(batch, seq_len)`` tensors. Besides the dict keys
(also readable as attributes: ``enc.input_ids``) it keeps, per example, an :class:`Encoding`:
the token strings, the character span of every token in its text and the word each token came
from, behind ``tokens()``, ``word_ids()``, ``char_to_token()`` and ``token_to_chars()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from scratchformers.errors import ConfigError, ShapeError

Span = tuple[int, int]


@dataclass
class Encoding:
    """One example: ids with, per token, its string, ``(start, end)`` characters in the text it
    came from (``(0, 0)`` for added special tokens), its word index (``None`` for specials) and
    its sequence (0: the text, 1: the pair, ``None``: a special token)."""

    ids: list[int]
    tokens: list[str]
    offsets: list[Span]
    word_ids: list[int | None]
    sequence_ids: list[int | None] = field(default_factory=list)

    def char_to_token(self, char_index: int, sequence_index: int = 0) -> int | None:
        """The token covering character ``char_index`` of sequence ``sequence_index`` (None: none)."""
        for i, ((start, end), seq) in enumerate(zip(self.offsets, self.sequence_ids)):
            if seq == sequence_index and start <= char_index < end:
                return i
        return None


class BatchEncoding(dict):
    """``{"input_ids", "attention_mask"[, "token_type_ids", "offset_mapping"]}`` plus helpers.

    ``encodings`` is the list of per-example :class:`Encoding` s, computed on first use when the
    call did not need them (``make_encodings``), so plain calls cost no more than ``encode``.
    """

    def __init__(
        self,
        data: dict,
        encodings: list[Encoding] | None = None,
        *,
        batched: bool = True,
        make_encodings: Callable[[], list[Encoding]] | None = None,
    ):
        super().__init__(data)
        self._encodings = encodings
        self._make_encodings = make_encodings
        self.is_batched = batched

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"this BatchEncoding has no {name!r}; it holds {sorted(self)}"
            ) from None

    # dict subclasses pickle their items, not attributes set in __init__; keep both
    def __getstate__(self):
        return {"encodings": self.encodings, "batched": self.is_batched}

    def __setstate__(self, state):
        self._encodings, self._make_encodings = state["encodings"], None
        self.is_batched = state["batched"]

    @property
    def encodings(self) -> list[Encoding] | None:
        if self._encodings is None and self._make_encodings is not None:
            self._encodings = self._make_encodings()
        return self._encodings

    def to(self, device) -> BatchEncoding:
        """Move every tensor value to ``device`` (in place, like HF; returns self)."""
        for key, value in self.items():
            if hasattr(value, "to"):
                self[key] = value.to(device)
        return self

    def _example(self, batch_index: int) -> Encoding:
        encodings = self.encodings
        if encodings is None:
            raise ConfigError("this BatchEncoding has no per-token information; it was not built by a tokenizer call")
        if not -len(encodings) <= batch_index < len(encodings):
            raise ShapeError(f"batch_index={batch_index} but the batch holds {len(encodings)} examples")
        return encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        return list(self._example(batch_index).tokens)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token, the index of the word it came from (``None`` for special and padding tokens)."""
        return list(self._example(batch_index).word_ids)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return list(self._example(batch_index).sequence_ids)

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0):
        """``char_to_token(char)`` for one example, ``char_to_token(i, char)`` in a batch (HF's order)."""
        batch_index, char = (0, batch_or_char_index) if char_index is None else (batch_or_char_index, char_index)
        return self._example(batch_index).char_to_token(char, sequence_index)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> Span | None:
        """The ``(start, end)`` characters of a token (``None`` for a special token)."""
        batch_index, token = (0, batch_or_token_index) if token_index is None else (batch_or_token_index, token_index)
        example = self._example(batch_index)
        return None if example.sequence_ids[token] is None else example.offsets[token]

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch_index, token = (0, batch_or_token_index) if token_index is None else (batch_or_token_index, token_index)
        return self._example(batch_index).word_ids[token]
