"""Word-level tokenizer: one id per word or punctuation mark, ``[UNK]`` for everything else."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.alignment import normalize_aligned, to_original
from scratchformers.tokenizers.base import Tokenizer, check_texts
from scratchformers.tokenizers.pretokenize import split_words, word_punct_regex
from scratchformers.tokenizers.training import count_words, warn_if_short

DEFAULT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_ROLE_OF = {
    "[PAD]": "pad_token",
    "[UNK]": "unk_token",
    "[CLS]": "cls_token",
    "[SEP]": "sep_token",
    "[MASK]": "mask_token",
}


def roles_for(special_tokens: Iterable[str]) -> dict[str, str]:
    """BERT-style special strings -> their roles (``"[PAD]"`` is the pad token, ...)."""
    return {_ROLE_OF[t]: t for t in special_tokens if t in _ROLE_OF}


class VocabTokenizer(Tokenizer):
    """Shared parts of tokenizers whose vocabulary is a ``{token: id}`` dict with an ``[UNK]``."""

    def __init__(self, vocab: dict[str, int], special_tokens: Sequence[str], lowercase: bool, **roles):
        self.vocab = dict(vocab)
        missing = [t for t in special_tokens if t not in self.vocab]
        if missing:
            raise ConfigError(f"special tokens {missing} are not in the vocabulary")
        super().__init__({t: self.vocab[t] for t in special_tokens}, **{**roles_for(special_tokens), **roles})
        self.lowercase = lowercase
        self._id_to_token = {i: t for t, i in self.vocab.items()}

    def _words(self, text: str) -> list[str]:
        return split_words(text, self.lowercase)

    def _word_spans(self, text: str) -> tuple[list[tuple[str, int, int]], list[int] | None, int]:
        """([(word, start, end)] in the lower-cased text, origin of its characters, its length)."""
        norm, origin = normalize_aligned(text, str.lower) if self.lowercase else (text, None)
        return [(m.group(), *m.span()) for m in word_punct_regex().finditer(norm)], origin, len(norm)

    def _plain_spans(self, text: str) -> list[tuple[int, int, int, int]]:
        vocab, unk = self.vocab, self.unk_token_id
        words, origin, size = self._word_spans(text)
        return [(vocab.get(w, unk), *to_original((s, e), origin, size), n) for n, (w, s, e) in enumerate(words)]


class WordLevelTokenizer(VocabTokenizer):
    """Splits on whitespace and punctuation; unknown words map to ``[UNK]`` (never a KeyError)."""

    kind = "wordlevel"

    def __init__(
        self,
        vocab: dict[str, int],
        special_tokens: Sequence[str] = DEFAULT_SPECIALS,
        lowercase: bool = False,
        **roles,
    ):
        super().__init__(vocab, special_tokens, lowercase, **roles)
        if self.unk_token is None:
            raise ConfigError("WordLevelTokenizer needs an unknown token: include '[UNK]' in special_tokens")

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Ids of ``text``; special-token strings in it (``"[SEP]"``) are one id each, as in HF.

        No special tokens are added; the flag exists for API symmetry.
        """
        vocab, unk = self.vocab, self.unk_token_id
        return self._encode_with_specials(text, lambda chunk: [vocab.get(w, unk) for w in self._words(chunk)])

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids)
        specials = set(self.special_tokens.values()) if skip_special_tokens else set()
        return " ".join(self._id_to_token[i] for i in ids if i not in specials)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = DEFAULT_SPECIALS,
        min_frequency: int = 1,
        lowercase: bool = False,
        show_progress: bool = True,
    ) -> WordLevelTokenizer:
        """Keep the ``vocab_size - len(special_tokens)`` most frequent words of ``texts`` (strings;
        files: :meth:`train_from_files`); ties: first seen."""
        split = partial(split_words, lowercase=lowercase)
        counts = count_words(check_texts(texts, cls), split, show_progress)
        vocab = {t: i for i, t in enumerate(dict.fromkeys(special_tokens))}
        for word, count in counts.most_common():
            if len(vocab) >= vocab_size or count < min_frequency:
                break
            vocab.setdefault(word, len(vocab))
        frequent = sum(1 for c in counts.values() if c >= min_frequency)
        reason = f"the texts have only {len(counts)} distinct words"
        if frequent < len(counts):
            reason += f", {frequent} of them seen at least min_frequency={min_frequency} times"
        warn_if_short("word-level", vocab_size, len(vocab), reason)
        return cls(vocab, special_tokens, lowercase)
