"""Classic BPE (Sennrich et al., 2016): characters plus an end-of-word marker ``</w>``.

Words are split on whitespace and punctuation, each word becomes ``l o w </w>``, and learned
merges are applied lowest rank first. Characters never seen in training become ``[UNK]``.
Training breaks count ties by first occurrence in the corpus, which reproduces the paper's
reference script exactly (it picks ``max(pairs, key=pairs.get)`` over an insertion-ordered dict).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.alignment import to_original
from scratchformers.tokenizers.base import check_texts
from scratchformers.tokenizers.merging import apply_merges
from scratchformers.tokenizers.pretokenize import split_words
from scratchformers.tokenizers.training import char_alphabet, count_words, learn_merges
from scratchformers.tokenizers.word_level import DEFAULT_SPECIALS, VocabTokenizer

END_OF_WORD = "</w>"


class BPETokenizer(VocabTokenizer):
    """Sennrich BPE over characters with ``</w>``; ``merges`` in learned order."""

    kind = "bpe"

    def __init__(
        self,
        vocab: dict[str, int],
        merges: Sequence[tuple[str, str]],
        special_tokens: Sequence[str] = DEFAULT_SPECIALS,
        lowercase: bool = False,
        cache_size: int = 100_000,
        **roles,
    ):
        super().__init__(vocab, special_tokens, lowercase, **roles)
        if self.unk_token is None:
            raise ConfigError("BPETokenizer needs an unknown token: include '[UNK]' in special_tokens")
        self.merges = [tuple(m) for m in merges]
        self._ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self._cache: dict[str, list[int]] = {}
        self._cache_size = cache_size

    def tokenize_word(self, word: str) -> list[int]:
        ids = self._cache.get(word)
        if ids is None:
            unk = self.unk_token_id
            ids = [self.vocab.get(s, unk) for s in apply_merges([*word, END_OF_WORD], self._ranks)]
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Ids of ``text``; special and added token strings in it are one id each (as the other
        kinds and HF). No special tokens are added; the flag exists for API symmetry."""
        return self._encode_with_specials(text, self._encode_plain)

    def _encode_plain(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in self._words(text):
            ids.extend(self.tokenize_word(word))
        return ids

    def _plain_spans(self, text: str) -> list[tuple[int, int, int, int]]:
        """Each merged symbol spans its characters; ``</w>`` adds none (it marks the word's end).
        The ids come from the word cache ``encode`` fills; an unknown symbol is one character
        (merges only build vocabulary tokens), or a lone ``</w>`` the vocabulary lacks (none)."""
        tokens, unk, end = self._id_to_token, self.unk_token_id, len(END_OF_WORD)
        words, origin, size = self._word_spans(text)
        out = []
        for n, (word, start, _) in enumerate(words):
            ids = self.tokenize_word(word)
            lengths = [1 if i == unk else len(tokens[i]) - end * tokens[i].endswith(END_OF_WORD) for i in ids]
            if sum(lengths) > len(word):  # the last unknown symbol was the lone </w>
                lengths[-1] = 0
            for token_id, length in zip(ids, lengths):
                out.append((token_id, *to_original((start, start + length), origin, size), n))
                start += length
        return out

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids)
        specials = set(self.special_tokens.values())
        parts = []
        for i in ids:
            if i in specials:
                if not skip_special_tokens:
                    parts.append(self._id_to_token[i] + " ")
                continue
            parts.append(self._id_to_token[i].replace(END_OF_WORD, " "))
        return "".join(parts).rstrip(" ")

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = DEFAULT_SPECIALS,
        min_frequency: int = 2,
        lowercase: bool = False,
        limit_alphabet: int | None = None,
        initial_alphabet: Iterable[str] = (),
        show_progress: bool = True,
    ) -> BPETokenizer:
        """Learn from ``texts`` (strings; files: :meth:`train_from_files`). Vocabulary: special
        tokens, the characters seen (sorted), ``</w>``, then the merges.

        ``limit_alphabet`` keeps only the most frequent characters (the others are dropped from
        the words, as HF's trainers do), ``initial_alphabet`` adds characters even if unseen."""
        split = partial(split_words, lowercase=lowercase)
        counts = count_words(check_texts(texts, cls), split, show_progress)
        alphabet = char_alphabet(counts, limit_alphabet, initial_alphabet)
        id_to_token = list(dict.fromkeys([*special_tokens, *alphabet, END_OF_WORD]))
        token_id = {t: i for i, t in enumerate(id_to_token)}
        words = [[token_id[c] for c in word if c in token_id] + [token_id[END_OF_WORD]] for word in counts]
        merges = learn_merges(
            words,
            list(counts.values()),
            id_to_token,
            vocab_size,
            min_frequency=min_frequency,
            tie_break="first_seen",
            show_progress=show_progress,
            kind="classic BPE",
        )
        vocab = {t: i for i, t in enumerate(id_to_token)}
        return cls(vocab, [(id_to_token[a], id_to_token[b]) for a, b, _ in merges], special_tokens, lowercase)
