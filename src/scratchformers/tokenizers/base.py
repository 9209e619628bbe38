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
from scratchformers.tokenizers.batching import call_tokenizer
from scratchformers.tokenizers.encoding import BatchEncoding
from scratchformers.tokenizers.pretokenize import SpecialTokenSplitter

# kind -> (save(tokenizer, directory) -> Path, load(directory, meta=None) -> Tokenizer), filled by
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
        self.truncation_side = "right"  # "left": keep the end of a long text
        self.added_tokens: dict[str, int] = {}  # add_tokens(...): matched in text, not special
        self._refresh_splitters()
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
    def _encode_with_specials(self, text: str, encode_plain, splitter: SpecialTokenSplitter | None = None) -> list[int]:
        """Special-token strings in ``text`` become their single ids, as HF's ``added_tokens`` do
        (matched on the raw text, longest first); the text between them goes to ``encode_plain``.
        ``splitter``: the tokens to match, if not all special and added ones (tiktoken's
        ``allowed_special``)."""
        splitter = self._added_splitter if splitter is None else splitter
        if not splitter.found_in(text):
            return encode_plain(text)
        ids: list[int] = []
        for chunk, is_special in splitter.split(text):
            if is_special:
                ids.append(self._matched_tokens[chunk])
            else:
                ids.extend(encode_plain(chunk))
        return ids

    # ----- added tokens (HF: matched in the raw text before the model's pre-tokenizer) ----------
    def _refresh_splitters(self) -> None:
        self._matched_tokens = {**self.special_tokens, **self.added_tokens}
        self._added_splitter = SpecialTokenSplitter(self._matched_tokens)

    def _store_token(self, token: str, token_id: int) -> None:
        """Put a new token in the vocabulary (subclasses with other id tables extend this)."""
        self.vocab[token] = token_id
        self._id_to_token[token_id] = token

    def add_tokens(self, tokens: str | Iterable[str], special_tokens: bool = False) -> int:
        """Tokens matched whole in any text (before pre-tokenization), new ids from ``len(self)``
        (one already in the vocabulary keeps its id) -> how many were not added tokens before
        (HF's count: a vocabulary token newly matched whole counts, a special token twice not)."""
        tokens = [tokens] if isinstance(tokens, str) else list(tokens)
        bad = [t for t in tokens if not isinstance(t, str) or not t]
        if bad:
            raise ConfigError(f"add_tokens got {bad[:3]}; tokens must be non-empty strings")
        created = 0
        for token in dict.fromkeys(tokens):
            created += token not in self._matched_tokens
            token_id = self.token_to_id(token)
            if token_id is None:
                token_id = self.vocab_size
                self._store_token(token, token_id)
                self._added_ids = {*getattr(self, "_added_ids", ()), token_id}
            if special_tokens:
                self.special_tokens[token] = token_id
                self.added_tokens.pop(token, None)
            elif token not in self.special_tokens:
                self.added_tokens[token] = token_id
        self._refresh_splitters()
        return created

    def add_special_tokens(self, tokens: dict | Iterable[str]) -> int:
        """HF ``tokenizers``: a list of special tokens; HF ``transformers``: a dict of roles
        (``{"pad_token": "<pad>", "additional_special_tokens": [...]}``). -> number created."""
        if not isinstance(tokens, dict):
            return self.add_tokens(tokens, special_tokens=True)
        created = 0
        for key, value in tokens.items():
            if key == "additional_special_tokens":
                created += self.add_tokens(list(value), special_tokens=True)
            elif key in SPECIAL_ROLES:
                created += self.add_tokens([value], special_tokens=True)
                setattr(self, key, value)
            else:
                raise ConfigError(f"add_special_tokens got {key!r}; expected {SPECIAL_ROLES} or 'additional_special_tokens'")
        return created

    # ----- vocabulary ---------------------------------------------------------------------------
    def get_vocab(self, with_added_tokens: bool = True) -> dict[str, int]:
        """token -> id; ``with_added_tokens=False`` leaves out what ``add_tokens`` created."""
        added = getattr(self, "_added_ids", set())
        return {t: i for t, i in self.vocab.items() if with_added_tokens or i not in added}

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

    # ----- calling: texts -> BatchEncoding (the pipeline is in ``batching``) ---------------------
    encodes_pairs = False  # WordPiece: [CLS] a [SEP] b [SEP]
    has_token_type_ids = False

    def _template(self, pair: bool) -> tuple[list[int], list[int], list[int]]:
        """Ids the template adds before the text, between text and pair, and at the end."""
        return [], [], []

    def _plain_spans(self, text: str) -> list[tuple[int, int, int, int]]:
        """``(id, start, end, word)`` per token of text without special or added tokens."""
        raise NotImplementedError

    def _text_spans(self, text: str) -> list[tuple[int, int, int, int | None]]:
        """Spans of a whole text: added and special tokens cut it first (one word each), the
        pieces between go to the model's own pre-tokenizer (as HF's ``added_tokens``)."""
        out: list = []
        word, start = 0, 0
        for chunk, is_special in self._added_splitter.split(text):
            if is_special:
                out.append((self._matched_tokens[chunk], start, start + len(chunk), word))
                word += 1
            else:
                spans = self._plain_spans(chunk)
                out += [(i, s + start, e + start, w + word) for i, s, e, w in spans]
                word += max((w for *_, w in spans), default=-1) + 1
            start += len(chunk)
        return out

    def _items(self, text, *, spans: bool, words: bool) -> list:
        """One sequence without template tokens: ids, or ``(id, start, end, word)`` items."""
        if words:  # pre-split words: each encoded alone; offsets within its word
            return [(i, s, e, n) for n, word in enumerate(text) for i, s, e, _ in self._text_spans(word)]
        if spans:
            return self._text_spans(text)
        return self.encode(text, add_special_tokens=False)

    def __call__(self, text, text_pair=None, **options) -> BatchEncoding:
        """HF-style call: one text -> unbatched lists, a list of texts -> one list per text.

        options: ``padding`` (False, True/"longest", "max_length"), ``truncation``, ``max_length``,
        ``return_tensors`` (None or "pt"), ``add_special_tokens``, ``return_offsets_mapping``,
        ``is_split_into_words``, ``padding_side``. Truncation side: ``self.truncation_side``.
        """
        return call_tokenizer(self, text, text_pair, **options)

    def encode_batch(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, **options) -> BatchEncoding:
        """Like calling the tokenizer, always batched (a single string becomes a batch of one)."""
        if isinstance(texts, str):
            texts = [texts]
            text_pairs = [text_pairs] if isinstance(text_pairs, str) else text_pairs
        return call_tokenizer(self, texts, text_pairs, batched=True, **options)

    def encode_ordinary_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """tiktoken's ``encode_ordinary_batch``: special-token text encoded as plain text."""
        return [self.encode_ordinary(t) for t in texts]

    def encode_ordinary(self, text: str) -> list[int]:
        raise ConfigError(f"{type(self).__name__} has no ordinary encoding; use encode(text)")

    # ----- decoding many, token <-> id ------------------------------------------------------------
    def batch_decode(self, sequences, skip_special_tokens: bool = False, **options) -> list[str]:
        """``[decode(row) for row in sequences]`` (a 2-D tensor is read row by row)."""
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return [self.decode(row, skip_special_tokens=skip_special_tokens, **options) for row in sequences]

    decode_batch = batch_decode  # tiktoken's and HF tokenizers' name

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """An id -> its token string; a list of ids -> a list (HF transformers)."""
        if isinstance(ids, int) or (hasattr(ids, "dim") and ids.dim() == 0):
            return self.id_to_token(int(ids))
        specials = set(self.special_tokens.values()) if skip_special_tokens else set()
        return [self.id_to_token(int(i)) for i in ids if int(i) not in specials]

    def convert_tokens_to_ids(self, tokens):
        """A token -> its id (the unknown token's id when absent); a list -> a list."""
        if isinstance(tokens, str):
            found = self.token_to_id(tokens)
            return found if found is not None else self.unk_token_id
        return [self.convert_tokens_to_ids(t) for t in tokens]

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


def restore_added_tokens(tok: Tokenizer, special: Iterable[str], plain: Iterable[str]) -> Tokenizer:
    """Give a loaded ``tok`` back the tokens of ``add_special_tokens`` / ``add_tokens`` (the
    vocabulary already holds their ids; only the text matching is restored) -> ``tok``."""
    extra = [t for t in special if t not in tok.special_tokens]
    if extra:
        tok.add_special_tokens(extra)
    plain = list(plain)
    if plain:
        tok.add_tokens(plain)
    return tok


def require_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"tokenizer folder {str(path)!r} does not exist; pass the folder you saved to")
    return path
