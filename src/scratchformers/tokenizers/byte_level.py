"""GPT-2 style byte-level BPE: regex pieces -> bytes -> printable chars -> ranked merges.

No unknown tokens ever: every byte has a token. Loads GPT-2 ``vocab.json``/``merges.txt`` (or
``encoder.json``/``vocab.bpe``), HF ``tokenizer.json`` byte-level BPE models, tiktoken rank files
and GGUF metadata; saves ``vocab.json`` + ``merges.txt`` + an HF ``tokenizer.json``.

Encoding speed comes from a per-piece cache: natural text repeats its words, so after warm-up
almost every regex piece is a dict hit and the work is the regex plus a C-level ``chain``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import (
    Tokenizer,
    iter_training_texts,
    read_meta,
    require_dir,
)
from scratchformers.tokenizers.hf_json import tokenizer_json, write_hf_files
from scratchformers.tokenizers.pretokenize import (
    GPT2_PATTERN,
    PATTERNS,
    RegexPreTokenizer,
    SpecialTokenSplitter,
    bytes_to_unicode,
    resolve_pattern,
    unicode_to_bytes,
)
from scratchformers.tokenizers.training import apply_merges, count_words, learn_merges

# llama.cpp ``tokenizer.ggml.pre`` names -> (pattern, split_digits)
GGUF_PRE_TOKENIZERS = {
    "gpt-2": ("gpt2", False),
    "gpt2": ("gpt2", False),
    "default": ("gpt2", False),
    "smollm": ("gpt2", True),
    "starcoder": ("gpt2", True),
    "refact": ("gpt2", True),
}


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


def _parse_merges(merges: Iterable) -> list[tuple[str, str]]:
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


class ByteLevelBPETokenizer(Tokenizer):
    """Byte-level BPE (GPT-2, RoBERTa, SmolLM2, tiktoken encodings).

    Args:
        vocab: token string (byte-to-unicode form, e.g. ``"Ġthe"``) -> id.
        merges: ``[("Ġ", "t"), ...]`` (or ``"Ġ t"`` strings), highest priority first.
        special_tokens: strings matched as single ids before pre-tokenization, as a list (ids
            looked up in ``vocab``, else appended) or a ``{token: id}`` dict.
        pattern: ``"gpt2"`` (default), ``"cl100k"``, ``"o200k"`` or a regex.
        split_digits: isolate every digit before the regex (SmolLM2/StarCoder).
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
        cache_size: int = 200_000,
        **roles,
    ):
        self.vocab = dict(vocab)
        self.merges = _parse_merges(merges)
        specials = self._resolve_specials(special_tokens)
        eot = "<|endoftext|>" if "<|endoftext|>" in specials else None
        roles.setdefault("bos_token", eot)
        roles.setdefault("eos_token", eot)
        super().__init__(specials, **roles)
        self.pattern = resolve_pattern(pattern)
        self.split_digits = split_digits
        self.add_prefix_space = add_prefix_space
        self.ignore_merges = ignore_merges
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
        self._cache = _PieceCache(self._encode_piece, cache_size)
        self._cache_lookup = self._cache.__getitem__
        self._split = self._pre.split
        self._splitter = SpecialTokenSplitter(self.special_tokens)

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
        chars = [self._byte_token[b] for b in piece.encode("utf-8")]
        if self.ignore_merges:
            whole = self.vocab.get("".join(chars))
            if whole is not None:
                return [whole]
        vocab = self.vocab
        return [vocab[t] for t in apply_merges(chars, self._ranks)]

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode treating special-token text as plain text (tiktoken's ``encode_ordinary``)."""
        if self.add_prefix_space and text and not text.startswith(" "):
            text = " " + text
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
        add_special_tokens: accepted for API symmetry with WordPiece; byte-level BPE adds none.
        """
        if allowed_special == "all" and not disallowed_special and not self._splitter.found_in(text):
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
        if not allowed or not any(t in text for t in allowed):
            return self.encode_ordinary(text)
        splitter = self._splitter if allowed == set(self.special_tokens) else SpecialTokenSplitter(allowed)
        ids: list[int] = []
        for chunk, is_special in splitter.split(text):
            if is_special:
                ids.append(self.special_tokens[chunk])
            else:
                ids.extend(self.encode_ordinary(chunk))
        return ids

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

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return b"".join(self._id_bytes[i] for i in ids)

    # ----- training -----------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        texts_or_files,
        vocab_size: int,
        *,
        special_tokens: Sequence[str] = ("<|endoftext|>",),
        min_frequency: int = 2,
        pattern: str = "gpt2",
        split_digits: bool = False,
        show_progress: bool = True,
    ) -> ByteLevelBPETokenizer:
        """Learn a byte-level BPE; the merges equal HF ``tokenizers``' ``BpeTrainer`` with the
        ``ByteLevel`` pre-tokenizer and its 256-byte initial alphabet (same tie-breaking)."""
        if vocab_size < 256 + len(special_tokens):
            raise ConfigError(
                f"vocab_size={vocab_size} is smaller than the 256 byte tokens + {len(special_tokens)} "
                f"special tokens; use at least {256 + len(special_tokens)}"
            )
        pre = RegexPreTokenizer(pattern, split_digits)
        word_counts = count_words(iter_training_texts(texts_or_files), pre.split, show_progress)
        # Vocabulary: special tokens first, then the 256 byte symbols sorted by code point (as HF).
        id_to_token = list(dict.fromkeys(special_tokens))
        id_to_token += [c for c in sorted(bytes_to_unicode().values()) if c not in id_to_token]
        token_id = {t: i for i, t in enumerate(id_to_token)}
        byte_id = [token_id[bytes_to_unicode()[b]] for b in range(256)]
        to_id = byte_id.__getitem__
        words = [list(map(to_id, w.encode("utf-8"))) for w in word_counts]
        merges = learn_merges(
            words,
            list(word_counts.values()),
            id_to_token,
            vocab_size,
            min_frequency=min_frequency,
            tie_break="ids",
            show_progress=show_progress,
        )
        vocab = {t: i for i, t in enumerate(id_to_token)}
        pairs = [(id_to_token[a], id_to_token[b]) for a, b, _ in merges]
        return cls(vocab, pairs, list(special_tokens), pattern, split_digits=split_digits)

    # ----- save / load --------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``vocab.json``, ``merges.txt``, HF ``tokenizer.json`` + ``tokenizer_config.json``
        and our marker file."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in self.merges]
        (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_hf_files(directory, self.to_tokenizer_json(), self._roles())
        self._write_meta(
            directory,
            pattern=self.pattern,
            split_digits=self.split_digits,
            add_prefix_space=self.add_prefix_space,
            ignore_merges=self.ignore_merges,
        )
        return directory

    def to_tokenizer_json(self) -> dict:
        """The HF ``tokenizers`` serialization of this tokenizer."""
        byte_level = {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": True}
        steps = []
        if self.split_digits:
            steps.append({"type": "Digits", "individual_digits": True})
        if self.pattern == GPT2_PATTERN:
            steps.append({**byte_level, "use_regex": True})
        else:
            steps.append(
                {"type": "Split", "pattern": {"Regex": self.pattern}, "behavior": "Isolated", "invert": False}
            )
            steps.append({**byte_level, "use_regex": False})
        pre = steps[0] if len(steps) == 1 else {"type": "Sequence", "pretokenizers": steps}
        return tokenizer_json(
            special_tokens=self.special_tokens,
            pre_tokenizer=pre,
            post_processor={**byte_level, "trim_offsets": False, "use_regex": True},
            decoder={**byte_level, "use_regex": True},
            model={
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": self.ignore_merges,
                "vocab": self.vocab,
                "merges": [list(m) for m in self.merges],
            },
        )

    @classmethod
    def load(cls, directory: str | Path) -> ByteLevelBPETokenizer:
        """Load what :meth:`save` wrote (or any folder with GPT-2 files / a ``tokenizer.json``)."""
        directory = require_dir(directory)
        meta = read_meta(directory)
        if meta is None:
            if (directory / "tokenizer.json").is_file():
                return cls.from_tokenizer_json(directory / "tokenizer.json")
            return cls.from_gpt2_files(directory)
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        merges = _read_merges_txt(directory / "merges.txt")
        return cls(
            vocab,
            merges,
            meta["special_tokens"],
            meta["pattern"],
            split_digits=meta["split_digits"],
            add_prefix_space=meta.get("add_prefix_space", False),
            ignore_merges=meta.get("ignore_merges", False),
            **meta.get("roles", {}),
        )

    @classmethod
    def from_gpt2_files(cls, directory: str | Path, **kwargs) -> ByteLevelBPETokenizer:
        """``vocab.json`` + ``merges.txt`` or OpenAI's original ``encoder.json`` + ``vocab.bpe``."""
        directory = require_dir(directory)
        for vocab_name, merges_name in (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")):
            if (directory / vocab_name).is_file() and (directory / merges_name).is_file():
                vocab = json.loads((directory / vocab_name).read_text(encoding="utf-8"))
                merges = _read_merges_txt(directory / merges_name)
                specials = [t for t in ("<|endoftext|>",) if t in vocab]
                kwargs.setdefault("special_tokens", specials)
                return cls(vocab, merges, **kwargs)
        raise ConfigError(
            f"{str(directory)!r} has neither vocab.json + merges.txt nor encoder.json + vocab.bpe"
        )

    @classmethod
    def from_tokenizer_json(cls, path: str | Path) -> ByteLevelBPETokenizer:
        """An HF ``tokenizer.json`` of a byte-level BPE model (GPT-2, RoBERTa, SmolLM2, ...)."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        spec = json.loads(path.read_text(encoding="utf-8"))
        model = spec.get("model", {})
        if model.get("type") != "BPE":
            raise ConfigError(f"{str(path)!r} holds a {model.get('type')!r} model, not byte-level BPE")
        if spec.get("normalizer") is not None:
            raise ConfigError(
                f"{str(path)!r} has normalizer {spec['normalizer'].get('type')!r}; byte-level BPE here "
                "supports tokenizer.json files without a normalizer (GPT-2, RoBERTa, SmolLM2 style)"
            )
        pattern, split_digits, add_prefix_space = _parse_pre_tokenizer(spec.get("pre_tokenizer"), path)
        specials = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
        return cls(
            model["vocab"],
            model["merges"],
            specials,
            pattern,
            split_digits=split_digits,
            add_prefix_space=add_prefix_space,
            ignore_merges=bool(model.get("ignore_merges", False)),
        )

    @classmethod
    def from_tiktoken(
        cls, path: str | Path, *, pattern: str = "gpt2", special_tokens: dict[str, int] | None = None
    ) -> ByteLevelBPETokenizer:
        """A tiktoken rank file (``base64-token rank`` per line) -> vocab + merges.

        tiktoken stores only ranks; the merge that built each token is recovered by running BPE on
        its bytes with the ranks below its own, which must end in exactly two parts.
        """
        ranks: dict[bytes, int] = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
        return cls.from_ranks(ranks, pattern=pattern, special_tokens=special_tokens)

    @classmethod
    def from_ranks(
        cls, ranks: dict[bytes, int], *, pattern: str = "gpt2", special_tokens: dict[str, int] | None = None
    ) -> ByteLevelBPETokenizer:
        b2u = bytes_to_unicode()
        to_str = lambda b: "".join(b2u[x] for x in b)
        vocab = {to_str(token): rank for token, rank in ranks.items()}
        merges = []
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            if len(token) > 1:
                parts = _bpe_bytes(ranks, token, max_rank=rank)
                if len(parts) != 2:
                    raise ConfigError(
                        f"tiktoken token {token!r} (rank {rank}) is not one merge of two "
                        "lower-ranked tokens; the rank file is inconsistent"
                    )
                merges.append((to_str(parts[0]), to_str(parts[1])))
        return cls(vocab, merges, special_tokens or {}, pattern)

    @classmethod
    def from_gguf(cls, source) -> ByteLevelBPETokenizer:
        """Build from a GGUF file's ``tokenizer.ggml.*`` metadata (``model == "gpt2"``).

        ``source`` is a path or an already open ``gguf.GGUFReader`` (parsing is the slow part,
        so a checkpoint loader can share its reader).
        """
        if hasattr(source, "fields"):
            fields = source.fields
        else:
            from gguf import GGUFReader

            fields = GGUFReader(str(source)).fields

        def get(key, default=None):
            return fields[key].contents() if key in fields else default

        if get("tokenizer.ggml.model") != "gpt2":
            raise ConfigError(
                f"GGUF tokenizer model is {get('tokenizer.ggml.model')!r}; only 'gpt2' "
                "(byte-level BPE) is supported"
            )
        pre = get("tokenizer.ggml.pre", "default")
        if pre not in GGUF_PRE_TOKENIZERS:
            raise ConfigError(
                f"GGUF pre-tokenizer {pre!r} is not supported; supported: {sorted(GGUF_PRE_TOKENIZERS)}"
            )
        pattern, split_digits = GGUF_PRE_TOKENIZERS[pre]
        tokens = get("tokenizer.ggml.tokens")
        types = get("tokenizer.ggml.token_type", [1] * len(tokens))
        specials = {t: i for i, (t, kind) in enumerate(zip(tokens, types)) if kind in (3, 4)}  # control, user
        roles = {}
        for role, key in (
            ("bos_token", "bos_token_id"),
            ("eos_token", "eos_token_id"),
            ("pad_token", "padding_token_id"),
            ("unk_token", "unknown_token_id"),
        ):
            token_id = get(f"tokenizer.ggml.{key}")
            if token_id is not None and token_id < len(tokens):
                roles[role] = tokens[token_id]
        vocab = {t: i for i, t in enumerate(tokens)}
        return cls(vocab, get("tokenizer.ggml.merges"), specials, pattern, split_digits=split_digits, **roles)


def _read_merges_txt(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    return _parse_merges(line for line in lines if line and not line.startswith("#version"))


def _parse_pre_tokenizer(spec: dict | None, path: Path) -> tuple[str, bool, bool]:
    """HF pre_tokenizer JSON -> (pattern, split_digits, add_prefix_space)."""
    steps = (
        [] if spec is None else spec.get("pretokenizers", [spec]) if spec["type"] == "Sequence" else [spec]
    )
    pattern, split_digits, add_prefix_space = None, False, False
    for step in steps:
        kind = step["type"]
        if kind == "Digits" and step.get("individual_digits"):
            split_digits = True
        elif kind == "Split" and "Regex" in step.get("pattern", {}) and step.get("behavior") == "Isolated":
            pattern = step["pattern"]["Regex"]
        elif kind == "ByteLevel":
            add_prefix_space = bool(step.get("add_prefix_space", False))
            if step.get("use_regex", True):
                pattern = pattern or GPT2_PATTERN
        else:
            raise ConfigError(f"{str(path)!r}: pre-tokenizer step {kind!r} ({step}) is not supported")
    if pattern is None:
        raise ConfigError(f"{str(path)!r}: no ByteLevel regex or Split pattern found in the pre-tokenizer")
    return pattern, split_digits, add_prefix_space


def _bpe_bytes(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [bytes([b]) for b in token]
    while True:
        best_rank, best_i = None, None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best_rank is None or rank < best_rank):
                best_rank, best_i = rank, i
        if best_i is None:
            return parts
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]


__all__ = ["ByteLevelBPETokenizer", "PATTERNS"]
