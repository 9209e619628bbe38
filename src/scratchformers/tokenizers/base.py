"""The common tokenizer API: encode/decode, batches with padding and masks, save/load.

Subclasses implement ``encode``/``decode``/``token_to_id``/``id_to_token``/``get_vocab`` (and
``train`` where they learn from text); the batching, padding, truncation and tensor conversion live
here once. The algorithms know no file format: ``save``/``load`` go through the folder format that
``tokenizers.formats.native`` registers for each kind (``FOLDER_FORMATS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from scratchformers.errors import ConfigError, ShapeError, VocabRangeError
from scratchformers.tokenizers.pretokenize import SpecialTokenSplitter

# kind -> (save(tokenizer, directory) -> Path, load(directory) -> Tokenizer), filled by
# ``tokenizers.formats.native`` (imported by the ``tokenizers`` package).
FOLDER_FORMATS: dict[str, tuple[Callable, Callable]] = {}
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

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, **options) -> Tokenizer:
        """Learn a vocabulary from ``texts``, an iterable of strings (never opened as paths)."""
        raise ConfigError(
            f"{cls.__name__} is not trained here; train a WordLevelTokenizer, BPETokenizer or "
            f"ByteLevelBPETokenizer, or load an existing vocabulary with {cls.__name__}.load(...)"
        )

    @classmethod
    def train_from_files(cls, files: str | Path | Iterable[str | Path], vocab_size: int, **options) -> Tokenizer:
        """:meth:`train` on UTF-8 text files, streamed line by line (memory: one line)."""
        return cls.train(iter_file_lines(files), vocab_size, **options)

    # ----- files (through the registered folder format) -------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write this tokenizer to a folder (ours + an HF ``tokenizer.json``) -> the folder."""
        return self._folder_format()[0](self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> Tokenizer:
        """Read a folder written by :meth:`save` (or a format this kind reads, see ``formats``)."""
        return cls._folder_format()[1](directory)

    @classmethod
    def _folder_format(cls) -> tuple[Callable, Callable]:
        if cls.kind not in FOLDER_FORMATS:
            raise ConfigError(f"{cls.__name__} has no folder format; known kinds: {sorted(FOLDER_FORMATS)}")
        return FOLDER_FORMATS[cls.kind]

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

    def _roles(self) -> dict[str, str]:
        return {r: getattr(self, r) for r in SPECIAL_ROLES if getattr(self, r) is not None}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={list(self.special_tokens)})"
        )


def count_tokens(text: str, tokenizer: Tokenizer) -> int:
    """How many tokens ``text`` costs with ``tokenizer`` (for context-length and price estimates)."""
    return len(tokenizer.encode(text))


def check_texts(texts: Iterable[str], owner: type | None = None) -> Iterable[str]:
    """Training texts as given, each checked to be a string: nothing is ever opened as a file.

    A bare string or path is refused (it would be read as characters or be a file meant for
    ``train_from_files``); so is any item that is not a string.
    """
    name = owner.__name__ if owner is not None else "Tokenizer"
    if isinstance(texts, (str, Path)):
        raise ConfigError(
            f"{name}.train got one {type(texts).__name__} ({str(texts)[:60]!r}), not a list of texts; "
            f"pass [text] to train on it, or {name}.train_from_files([path]) to read a file"
        )
    for item in texts:
        if not isinstance(item, str):
            hint = f"{name}.train_from_files" if isinstance(item, Path) else "str(...)"
            raise ConfigError(
                f"{name}.train got {type(item).__name__} {item!r} among the texts; texts must be "
                f"strings (files: use {hint})"
            )
        yield item


def iter_file_lines(files: str | Path | Iterable[str | Path]) -> Iterable[str]:
    """The lines of UTF-8 text files (newline kept), streamed; the paths are checked first."""
    paths = [Path(files)] if isinstance(files, (str, Path)) else [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"training files {missing} do not exist; pass existing UTF-8 text files")
    return _read_lines(paths)


def _read_lines(paths: list[Path]) -> Iterable[str]:
    for path in paths:
        with open(path, encoding="utf-8") as f:
            try:
                yield from f
            except UnicodeDecodeError as err:
                raise ConfigError(
                    f"training file {str(path)!r} is not UTF-8 (byte 0x{err.object[err.start]:02x} at "
                    f"offset {err.start} of a read block); convert it, e.g. iconv -t UTF-8"
                ) from None


def require_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"tokenizer folder {str(path)!r} does not exist; pass the folder you saved to")
    return path
