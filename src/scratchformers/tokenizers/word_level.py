"""Word-level tokenizer: one id per word or punctuation mark, ``[UNK]`` for everything else."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import Tokenizer, iter_training_texts, read_meta, require_dir
from scratchformers.tokenizers.hf_json import tokenizer_json, write_hf_files
from scratchformers.tokenizers.pretokenize import WORD_PUNCT_PATTERN, split_words
from scratchformers.tokenizers.training import count_words

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

    def _save_vocab(self, directory: str | Path, hf_spec: dict | None = None, **options) -> Path:
        """``vocab.json`` + our marker file, and ``hf_spec`` as ``tokenizer.json`` when given."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        self._write_meta(directory, lowercase=self.lowercase, **options)
        if hf_spec is not None:
            write_hf_files(directory, hf_spec, self._roles())
        return directory

    @staticmethod
    def _load_vocab(directory: str | Path) -> tuple[Path, dict, dict]:
        directory = require_dir(directory)
        meta = read_meta(directory)
        if meta is None:
            raise ConfigError(
                f"{str(directory)!r} has no scratchformers_tokenizer.json; was it saved by save()?"
            )
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        return directory, meta, vocab


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
        texts_or_files,
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = DEFAULT_SPECIALS,
        min_frequency: int = 1,
        lowercase: bool = False,
        show_progress: bool = True,
    ) -> WordLevelTokenizer:
        """Keep the ``vocab_size - len(special_tokens)`` most frequent words (ties: first seen)."""
        counts = count_words(iter_training_texts(texts_or_files), partial(split_words, lowercase=lowercase), show_progress)
        vocab = {t: i for i, t in enumerate(dict.fromkeys(special_tokens))}
        for word, count in counts.most_common():
            if len(vocab) >= vocab_size or count < min_frequency:
                break
            vocab.setdefault(word, len(vocab))
        return cls(vocab, special_tokens, lowercase)

    def save(self, directory: str | Path) -> Path:
        """Write ``vocab.json``, an HF ``tokenizer.json`` (WordLevel model) and our marker file."""
        return self._save_vocab(directory, self.to_tokenizer_json())

    def to_tokenizer_json(self) -> dict:
        """The HF ``tokenizers`` serialization: [Lowercase] + regex Split + WordLevel.

        No post-processor and no decoder: ``encode`` adds no special tokens, and HF joins decoded
        tokens with spaces like ``decode`` does.
        """
        return tokenizer_json(
            model={"type": "WordLevel", "vocab": self.vocab, "unk_token": self.unk_token},
            special_tokens=self.special_tokens,
            normalizer={"type": "Lowercase"} if self.lowercase else None,  # per character, as ours
            # keep the regex matches, drop what lies between them (whitespace), as HF's Whitespace
            pre_tokenizer={
                "type": "Split",
                "pattern": {"Regex": WORD_PUNCT_PATTERN},
                "behavior": "Removed",
                "invert": True,
            },
        )

    @classmethod
    def load(cls, directory: str | Path) -> WordLevelTokenizer:
        _, meta, vocab = cls._load_vocab(directory)
        return cls(vocab, list(meta["special_tokens"]), meta["lowercase"], **meta.get("roles", {}))
