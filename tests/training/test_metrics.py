"""Classification metrics against hand-computed values."""

import pytest

from scratchformers.training.metrics import classification_report, confusion_matrix, plot_confusion_matrix

LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
PREDS = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]


def test_confusion_matrix_by_hand():
    assert confusion_matrix(LABELS, PREDS).tolist() == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]


def test_report_by_hand():
    r = classification_report(LABELS, PREDS)
    assert r["accuracy"] == pytest.approx(6 / 10)
    # precision: column sums 3, 4, 3 -> 2/3, 2/4, 2/3 ; recall: row sums 4, 3, 3 -> 2/4, 2/3, 2/3
    assert r["precision"] == pytest.approx([2 / 3, 1 / 2, 2 / 3])
    assert r["recall"] == pytest.approx([1 / 2, 2 / 3, 2 / 3])
    f1 = [2 * p * q / (p + q) for p, q in zip(r["precision"], r["recall"])]
    assert r["f1"] == pytest.approx([4 / 7, 4 / 7, 2 / 3])
    assert r["macro_f1"] == pytest.approx(sum(f1) / 3)


def test_undefined_precision_is_zero_and_missing_classes_counted():
    r = classification_report([0, 0, 1], [0, 0, 0], num_labels=3)
    assert r["precision"] == [pytest.approx(2 / 3), 0.0, 0.0]
    assert r["recall"] == [1.0, 0.0, 0.0]
    assert len(r["confusion_matrix"]) == 3


def test_confusion_matrix_png(tmp_path):
    path = plot_confusion_matrix(confusion_matrix(LABELS, PREDS), ["a", "b", "c"], tmp_path / "cm.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
