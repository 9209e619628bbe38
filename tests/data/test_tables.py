"""Labelled text: JSONL/CSV/HF-like sources, label mapping, stratified splits, clear errors."""

import json
from collections import Counter

import pytest

from scratchformers.data import LabelledTexts, load_labelled, stratified_split, train_val_test
from scratchformers.data.text import text_files
from scratchformers.errors import ConfigError


def test_jsonl_with_chosen_columns_and_string_labels(tmp_path):
    rows = [{"body": f"t{i}", "stars": ["good", "bad", "meh"][i % 3]} for i in range(9)]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    data = load_labelled(str(tmp_path / "d.jsonl"), "body", "stars")
    assert data.label_names == ["bad", "good", "meh"]  # sorted mapping
    assert data.labels[:3] == [1, 0, 2] and data.texts[0] == "t0"
    assert "bad" in data.class_balance() and "33.3%" in data.class_balance()


def test_csv_and_tsv_with_integer_labels(tmp_path):
    (tmp_path / "d.csv").write_text('text,label\n"hello, world",1\nbye,0\n')
    data = load_labelled(tmp_path / "d.csv")
    assert data.texts == ["hello, world", "bye"] and data.labels == [1, 0] and data.label_names == ["0", "1"]
    (tmp_path / "d.tsv").write_text("text\tlabel\na\t0\nb\t1\n")
    assert load_labelled(tmp_path / "d.tsv").labels == [0, 1]


def test_hf_like_dataset_object():
    class FakeDataset:  # the part of datasets.Dataset we use
        column_names = ["sentence", "label"]

        def __getitem__(self, key):
            return {"sentence": ["a", "b", "c"], "label": [0, 1, 1]}[key]

    data = load_labelled(FakeDataset(), "sentence", "label")
    assert data.texts == ["a", "b", "c"] and data.labels == [0, 1, 1]


def test_wrong_columns_empty_and_single_class_are_clear_errors(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps({"text": "a", "y": 1}))
    with pytest.raises(ConfigError, match="label column 'label'"):
        load_labelled(tmp_path / "d.jsonl")
    with pytest.raises(ConfigError, match="empty"):
        LabelledTexts([], []).check()
    with pytest.raises(ConfigError, match="single class"):
        LabelledTexts(["a", "b"], [1, 1], ["neg", "pos"]).check()
    with pytest.raises(ConfigError, match="neither a packaged dataset"):
        load_labelled("imdb")
    with pytest.raises(ConfigError, match="unsupported"):
        (tmp_path / "d.parquet").write_text("")
        load_labelled(tmp_path / "d.parquet")


def test_stratified_split_keeps_proportions_and_is_fixed():
    labels = [0] * 700 + [1] * 300
    parts = stratified_split(labels, (0.8, 0.1, 0.1), seed=1)
    assert [len(p) for p in parts] == [800, 100, 100]
    assert sorted(i for p in parts for i in p) == list(range(1000))  # a partition
    for p in parts:
        counts = Counter(labels[i] for i in p)
        assert counts[1] / len(p) == pytest.approx(0.3, abs=0.01)
    assert parts == stratified_split(labels, (0.8, 0.1, 0.1), seed=1)
    assert parts != stratified_split(labels, (0.8, 0.1, 0.1), seed=2)


def test_rotten_tomatoes_by_name_has_a_fixed_stratified_split(rotten_tomatoes):
    data = load_labelled("rotten-tomatoes")
    assert data.label_names == ["rotten", "fresh"] and len(data) == len(rotten_tomatoes[0])
    train, val, test = train_val_test(data)
    assert len(train) + len(val) + len(test) == len(data)
    share = sum(data.labels) / len(data)
    for part in (train, val, test):
        assert sum(part.labels) / len(part) == pytest.approx(share, abs=0.002)
    assert train_val_test(load_labelled("rotten-tomatoes"))[2].texts == test.texts  # same split every time


def test_text_folders(tmp_path):
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("a")
    (tmp_path / "skip.bin").write_bytes(b"\0")
    assert [p.name for p in text_files(tmp_path)] == ["b.txt", "a.md"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no text files"):
        text_files(tmp_path / "empty")
    with pytest.raises(ConfigError, match="does not exist"):
        text_files(tmp_path / "missing")
