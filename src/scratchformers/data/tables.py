"""Labelled text for classification: JSONL/CSV files, packaged assets by name, Hugging Face datasets.

Everything becomes a :class:`LabelledTexts` (texts, integer labels, label names). String labels are
mapped to ids in sorted order; integer labels are kept. An empty or single-class dataset is refused
with a clear error, because it would "train" to a meaningless 100%.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchformers.errors import ConfigError, DataError

# Packaged datasets by name: a fixed seed makes the stratified split identical on every machine.
PACKAGED = ("rotten-tomatoes",)
SPLIT_SEED = 1234
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train / validation / test


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[int]
    label_names: list[str] = field(default_factory=list)

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ConfigError(f"{len(self.texts)} texts but {len(self.labels)} labels; every text needs one label")
        if not self.label_names and self.labels:
            self.label_names = [str(i) for i in range(max(self.labels) + 1)]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def subset(self, indices) -> LabelledTexts:
        return LabelledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices], list(self.label_names))

    def check(self, what: str = "dataset") -> LabelledTexts:
        """Refuse data that cannot train a classifier."""
        if len(self) == 0:
            raise ConfigError(f"the {what} is empty: no (text, label) rows were found")
        classes = set(self.labels)
        if len(classes) < 2:
            only = self.label_names[next(iter(classes))] if self.label_names else next(iter(classes))
            raise ConfigError(
                f"the {what} has a single class ({only!r}, {len(self)} rows); a classifier needs at least "
                "two classes — check the label column"
            )
        return self

    def class_balance(self) -> str:
        """A short table: label id, name, count, share."""
        counts = Counter(self.labels)
        lines = [f"{'id':>3}  {'label':<16}{'count':>8}  share"]
        for i, name in enumerate(self.label_names):
            lines.append(f"{i:>3}  {name:<16}{counts.get(i, 0):>8}  {counts.get(i, 0) / max(len(self), 1):6.1%}")
        return "\n".join(lines)


def _from_rows(rows: list[dict], text_column: str, label_column: str, source: str) -> LabelledTexts:
    if rows and (text_column not in rows[0] or label_column not in rows[0]):
        raise ConfigError(
            f"{source} has columns {sorted(rows[0])}; expected text column {text_column!r} and label column "
            f"{label_column!r} (choose them with --text-column / --label-column)"
        )
    texts = [str(r[text_column]) for r in rows]
    raw = [r[label_column] for r in rows]
    return _encode_labels(texts, raw)


def _encode_labels(texts: list[str], raw_labels: list) -> LabelledTexts:
    def as_int(v):
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            return int(v)
        return None

    ints = [as_int(v) for v in raw_labels]
    if raw_labels and all(v is not None for v in ints):
        if min(ints) < 0:
            raise ConfigError(f"label {min(ints)} is negative; integer labels must be 0..num_labels-1")
        return LabelledTexts(texts, ints)
    names = sorted({str(v) for v in raw_labels})
    index = {n: i for i, n in enumerate(names)}
    return LabelledTexts(texts, [index[str(v)] for v in raw_labels], names)


def _read_utf8(path) -> str:
    """The file's text; DataError naming the byte and its offset when it is not UTF-8."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"dataset {path} is not UTF-8 text (byte {raw[err.start]:#04x} at offset {err.start}); "
                        "convert it, e.g. `iconv -f latin1 -t utf-8 IN > OUT`") from None


def load_jsonl(path, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    rows = []
    for number, line in enumerate(_read_utf8(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"dataset {path} line {number} is not valid JSON ({err.msg}); one object per line") from None
        if not isinstance(row, dict):
            raise DataError(f"dataset {path} line {number} is a {type(row).__name__}, not an object with "
                            f"{text_column!r} and {label_column!r}")
        rows.append(row)
    return _from_rows(rows, text_column, label_column, str(path))


def load_csv(path, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    delimiter = "\t" if str(path).endswith(".tsv") else ","
    rows = list(csv.DictReader(io.StringIO(_read_utf8(path), newline=""), delimiter=delimiter))
    return _from_rows(rows, text_column, label_column, str(path))


def from_hf_dataset(dataset, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    """A Hugging Face ``datasets.Dataset`` (never required: only used when you pass one)."""
    columns = list(getattr(dataset, "column_names", []))
    if text_column not in columns or label_column not in columns:
        raise ConfigError(f"the dataset has columns {columns}; expected {text_column!r} and {label_column!r}")
    data = _encode_labels(list(dataset[text_column]), list(dataset[label_column]))
    feature = getattr(dataset, "features", {}).get(label_column) if hasattr(dataset, "features") else None
    if feature is not None and getattr(feature, "names", None):
        data.label_names = list(feature.names)
    return data


def rotten_tomatoes_data() -> LabelledTexts:
    from scratchformers.assets import ROTTEN_TOMATOES_LABELS, rotten_tomatoes

    texts, labels = rotten_tomatoes()
    return LabelledTexts(texts, labels, list(ROTTEN_TOMATOES_LABELS))


def load_labelled(source, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    """A packaged dataset name, a ``.jsonl``/``.json``/``.csv``/``.tsv`` path, LabelledTexts, or a HF dataset."""
    if isinstance(source, LabelledTexts):  # e.g. a subset of a packaged dataset, its label ids kept
        return source
    if not isinstance(source, (str, Path)):
        return from_hf_dataset(source, text_column, label_column)
    if str(source) in PACKAGED:
        return rotten_tomatoes_data()
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"dataset {source!r} is neither a packaged dataset ({', '.join(PACKAGED)}) nor an existing file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return load_jsonl(path, text_column, label_column)
    if suffix in (".csv", ".tsv"):
        return load_csv(path, text_column, label_column)
    raise ConfigError(f"unsupported dataset file {path.name}: use .jsonl, .csv or .tsv")


def stratified_split(labels, fractions=SPLIT_FRACTIONS, seed: int = SPLIT_SEED) -> list[list[int]]:
    """Index lists, one per fraction, each with (almost exactly) the class proportions of the whole."""
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions {fractions} must sum to 1")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    splits: list[list[int]] = [[] for _ in fractions]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        bounds = np.round(np.cumsum(fractions) * len(idx)).astype(int)
        start = 0
        for part, end in zip(splits, bounds):
            part.extend(idx[start:end].tolist())
            start = end
    return [sorted(part) for part in splits]


def train_val_test(data: LabelledTexts, seed: int = SPLIT_SEED) -> tuple[LabelledTexts, LabelledTexts, LabelledTexts]:
    """The fixed stratified 80/10/10 split used for every packaged dataset and results table."""
    train, val, test = stratified_split(data.labels, SPLIT_FRACTIONS, seed)
    return data.subset(train), data.subset(val), data.subset(test)
