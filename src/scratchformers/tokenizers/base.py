"""The common tokenizer API: encode/decode, batches with padding and masks, save/load.

Subclasses implement ``encode``/``decode``/``token_to_id``/``id_to_token``/``get_vocab`` and
``save``/``load``; the batching, padding, truncation and tensor conversion live here once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from scratchformers.errors import ConfigError, ShapeError, VocabRangeError
from scratchformers.tokenizers.pretokenize import SpecialTokenSplitter

META_FILE = "scratchformers_tokenizer.json"  # our own saved-format marker (kind + options)
SPECIAL_ROLES = ("unk_token", "pad_token", "bos_token", "eos_token", "cls_token", "sep_token", "mask_token")


class Tokenizer:
    """Base class. ``special_tokens`` maps each special string to its id; roles name them.

    Subclasses keep ``self.vocab`` (token -> id) and ``self._id_to_token`` (id -> token); the
    vocabulary accessors below read those.
    """

    kind = "base"

    def __init__(self, special_tokens: dict[str, int] | None = None, **roles: str | None):
        self.special_tokens: dict[str, int] = dict(special_tokens or {})
        self.padding_side = "right"  # "left" for batched generation with decoder-only models
        self._special_splitter = SpecialTokenSplitter(self.special_tokens)
        for role in SPECIAL_ROLES:
            setattr(self, role, roles.pop(role, None))
        if roles:
            raise ConfigError(
                f"unknown special-token roles {sorted(roles)}; expected some of {SPECIAL_ROLES}"
            )

    # ----- to implement -------------------------------------------------------------------------
    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        raise NotImplementedError

    def save(self, directory: str | Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: str | Path) -> Tokenizer:
        raise NotImplementedError

    @classmethod
    def train(cls, texts_or_files, vocab_size: int, **options) -> Tokenizer:
        raise ConfigError(
            f"{cls.__name__} is not trained here; train a WordLevelTokenizer, BPETokenizer or "
            f"ByteLevelBPETokenizer, or load an existing vocabulary with {cls.__name__}.load(...)"
        )

    # ----- shared -------------------------------------------------------------------------------
    def _encode_with_specials(self, text: str, encode_plain) -> list[int]:
        """Special-token strings in ``text`` become their single ids, as HF's ``added_tokens`` do
        (matched on the raw text, longest first); the text between them goes to ``encode_plain``."""
        if not self._special_splitter.found_in(text):
            return encode_plain(text)
        ids: list[int] = []
        for chunk, is_special in self._special_splitter.split(text):
            if is_special:
                ids.append(self.special_tokens[chunk])
            else:
                ids.extend(encode_plain(chunk))
        return ids

    # ----- vocabulary ---------------------------------------------------------------------------
    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self._id_to_token.get(token_id)

    @property
    def vocab_size(self) -> int:
        """Number of ids (the model's embedding rows must be at least this)."""
        return len(self.vocab)

    def __len__(self) -> int:
        return self.vocab_size

    def tokenize(self, text: str) -> list[str]:
        """The token strings of ``encode(text)``."""
        return [self.id_to_token(i) for i in self.encode(text)]

    def _role_id(self, role: str) -> int | None:
        token = getattr(self, role)
        return None if token is None else self.token_to_id(token)

    @property
    def pad_token_id(self) -> int | None:
        return self._role_id("pad_token")

    @property
    def unk_token_id(self) -> int | None:
        return self._role_id("unk_token")

    @property
    def bos_token_id(self) -> int | None:
        return self._role_id("bos_token")

    @property
    def eos_token_id(self) -> int | None:
        return self._role_id("eos_token")

    @property
    def cls_token_id(self) -> int | None:
        return self._role_id("cls_token")

    @property
    def sep_token_id(self) -> int | None:
        return self._role_id("sep_token")

    @property
    def mask_token_id(self) -> int | None:
        return self._role_id("mask_token")

    def _check_ids(self, ids) -> list[int]:
        """Ids as a plain list of ints (accepts an int, a list, a 1-D tensor or array), range-checked."""
        if hasattr(ids, "tolist"):  # torch tensor / numpy array
            ids = ids.tolist()
        ids = [ids] if isinstance(ids, int) else list(ids)
        if ids and isinstance(ids[0], (list, tuple)):
            raise ShapeError(
                f"decode takes one sequence of ids, got a batch of {len(ids)}; "
                "use [tok.decode(row) for row in ids]"
            )
        ids = [int(i) for i in ids]
        size = self.vocab_size
        bad = [i for i in ids if not 0 <= i < size]
        if bad:
            raise VocabRangeError(
                f"token ids {bad[:5]} are outside [0, {size}) for this {type(self).__name__}; "
                "were they produced by a different tokenizer or a model with a larger vocabulary?"
            )
        return ids

    def _build_inputs(
        self, text: str, text_pair: str | None, add_special_tokens: bool, max_length: int | None
    ) -> tuple[list[int], list[int] | None]:
        """One example's ids (and token_type_ids, for models that have them), truncated."""
        if text_pair is not None:
            raise ConfigError(f"{type(self).__name__} does not encode text pairs; pass single texts")
        ids = self.encode(text, add_special_tokens=add_special_tokens)
        return (ids[:max_length] if max_length is not None else ids), None

    def encode_batch(
        self,
        texts: Sequence[str],
        text_pairs: Sequence[str] | None = None,
        *,
        padding: bool | str = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
    ) -> dict:
        """Encode many texts -> ``{"input_ids", "attention_mask"[, "token_type_ids"]}``.

        padding: False, True/"longest" (to the longest in the batch) or "max_length".
        truncation: cut every example to ``max_length`` tokens. return_tensors: None (lists) or "pt".
        """
        if isinstance(texts, str):
            texts = [texts]
        if padding is True:
            padding = "longest"
        if padding not in (False, None, "longest", "max_length", "do_not_pad"):
            raise ConfigError(f"padding={padding!r}; expected False, True/'longest' or 'max_length'")
        if padding == "do_not_pad":
            padding = False
        if (truncation or padding == "max_length") and max_length is None:
            raise ConfigError(
                f"truncation={truncation!r}, padding={padding!r} need max_length; pass max_length=N"
            )
        if max_length is not None and max_length < 1:
            raise ConfigError(f"max_length={max_length}; expected a positive number of tokens")
        if return_tensors not in (None, "pt"):
            raise ConfigError(f"return_tensors={return_tensors!r}; expected None or 'pt'")
        if text_pairs is not None and len(text_pairs) != len(texts):
            raise ShapeError(f"{len(texts)} texts but {len(text_pairs)} text_pairs; they must pair up")

        limit = max_length if truncation else None
        rows = [
            self._build_inputs(
                t, text_pairs[i] if text_pairs is not None else None, add_special_tokens, limit
            )
            for i, t in enumerate(texts)
        ]
        ids = [r[0] for r in rows]
        types = [r[1] for r in rows] if rows and rows[0][1] is not None else None
        masks = [[1] * len(x) for x in ids]

        if padding:
            target = max_length if padding == "max_length" else max((len(x) for x in ids), default=0)
            pad_id = self.pad_token_id
            if pad_id is None:
                raise ConfigError(
                    f"padding={padding!r} but this {type(self).__name__} has no pad token; set "
                    "tokenizer.pad_token (e.g. tokenizer.pad_token = tokenizer.eos_token)"
                )
            ids = [self._pad(x, target, pad_id) for x in ids]
            masks = [self._pad(m, target, 0) for m in masks]
            if types is not None:
                types = [self._pad(t, target, 0) for t in types]

        out = {"input_ids": ids, "attention_mask": masks}
        if types is not None:
            out["token_type_ids"] = types
        if return_tensors == "pt":
            out = self._to_tensors(out)
        return out

    __call__ = encode_batch

    def _pad(self, row: list[int], target: int, value: int) -> list[int]:
        fill = [value] * max(0, target - len(row))
        return fill + row if self.padding_side == "left" else row + fill

    @staticmethod
    def _to_tensors(batch: dict) -> dict:
        import torch

        lengths = {len(x) for x in batch["input_ids"]}
        if len(lengths) > 1:
            raise ShapeError(
                f"return_tensors='pt' needs equal lengths, got lengths {sorted(lengths)}; "
                "pass padding=True (or padding='max_length', max_length=N)"
            )
        # each value: (batch, seq_len) int64
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}

    # ----- save/load helpers ----------------------------------------------------------------------
    def _roles(self) -> dict[str, str]:
        return {r: getattr(self, r) for r in SPECIAL_ROLES if getattr(self, r) is not None}

    def _write_meta(self, directory: Path, **options) -> None:
        meta = {"kind": self.kind, "special_tokens": self.special_tokens, "roles": self._roles(), **options}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={list(self.special_tokens)})"
        )


def read_meta(directory: str | Path) -> dict | None:
    path = Path(directory) / META_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def count_tokens(text: str, tokenizer: Tokenizer) -> int:
    """How many tokens ``text`` costs with ``tokenizer`` (for context-length and price estimates)."""
    return len(tokenizer.encode(text))


def iter_training_texts(texts_or_files: str | Path | Iterable[str | Path]) -> Iterable[str]:
    """Stream training text: file paths are read line by line (newline kept), strings as they are.

    A single path, a list of paths, or any iterable of strings; a string is treated as a path only
    if such a file exists, so a list of sentences works too. Memory stays bounded by one line.
    """
    if isinstance(texts_or_files, (str, Path)):
        texts_or_files = [texts_or_files]
    for item in texts_or_files:
        path = (
            Path(item)
            if isinstance(item, Path) or (isinstance(item, str) and _looks_like_file(item))
            else None
        )
        if path is None:
            if not isinstance(item, str):
                raise ConfigError(f"training input {item!r} is neither a text nor a file path")
            yield item
            continue
        if not path.is_file():
            raise ConfigError(f"training file {str(path)!r} does not exist; pass existing UTF-8 text files")
        with open(path, encoding="utf-8") as f:
            yield from f


def _looks_like_file(item: str) -> bool:
    if len(item) > 4096 or "\n" in item:
        return False
    try:
        return Path(item).is_file()
    except OSError:
        return False


def require_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"tokenizer folder {str(path)!r} does not exist; pass the folder you saved to")
    return path
