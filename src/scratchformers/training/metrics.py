"""Classification metrics computed from a confusion matrix (no scikit-learn needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scratchformers.viz.figures import pyplot, save_figure


def confusion_matrix(labels, predictions, num_labels: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of examples of true class ``i`` predicted as class ``j``."""
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    n = num_labels or int(max(labels.max(initial=-1), predictions.max(initial=-1)) + 1)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def classification_report(labels, predictions, num_labels: int | None = None) -> dict:
    """Accuracy, per-class precision/recall/F1, and their macro averages (0 where undefined)."""
    matrix = confusion_matrix(labels, predictions, num_labels)
    tp = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(0).astype(float), matrix.sum(1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        "accuracy": float(tp.sum() / max(matrix.sum(), 1)),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "confusion_matrix": matrix.tolist(),
    }


def plot_confusion_matrix(matrix, label_names, path: str | Path, title: str = "confusion matrix") -> Path:
    plt = pyplot()

    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * len(label_names) + 2.5, 1.2 * len(label_names) + 2))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    return save_figure(fig, path)
