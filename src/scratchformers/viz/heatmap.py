"""One attention head as a heatmap (matplotlib), readable up to 512 tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scratchformers.errors import ConfigError, ShapeError
from scratchformers.viz.figures import pyplot
from scratchformers.viz.weights import as_layers

MAX_TICKS = 48  # more tick labels than this are unreadable: show every k-th token


def tick_positions(n: int, max_ticks: int = MAX_TICKS) -> list[int]:
    step = max(1, -(-n // max_ticks))  # ceil(n / max_ticks)
    return list(range(0, n, step))


def attention_heatmap(weights, tokens: list[str], *, layer: int = 0, head: int = 0, batch: int = 0,
                      path: str | Path | None = None, key_tokens: list[str] | None = None, title: str | None = None):
    """Draw ``weights[layer][batch, head]`` (queries on rows, keys on columns).

    Returns the matplotlib Figure; with ``path`` it is also saved (PNG unless the suffix says otherwise).
    """
    plt = pyplot()

    layers = as_layers(weights, batch)
    if not 0 <= layer < layers.shape[0] or not 0 <= head < layers.shape[1]:
        raise ConfigError(f"layer={layer}, head={head} out of range: the weights have {layers.shape[0]} layers "
                          f"x {layers.shape[1]} heads")
    w = layers[layer, head]  # (Tq, Tk)
    key_tokens = tokens if key_tokens is None else key_tokens
    if w.shape != (len(tokens), len(key_tokens)):
        raise ShapeError(f"weights are {w.shape[0]} x {w.shape[1]} but got {len(tokens)} query and "
                         f"{len(key_tokens)} key tokens")
    n = max(w.shape)
    size = min(4 + n * 0.12, 24)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(np.max(w)), 1e-9), interpolation="nearest")
    rows, cols = tick_positions(w.shape[0]), tick_positions(w.shape[1])
    ax.set_yticks(rows, [tokens[i] for i in rows], fontsize=7)
    ax.set_xticks(cols, [key_tokens[j] for j in cols], fontsize=7, rotation=90)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(title or f"attention, layer {layer} head {head}")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
