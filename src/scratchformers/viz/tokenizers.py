"""The vocabulary-size trade-off plot for ``tokenizers.compare_vocab_sizes`` rows."""

from __future__ import annotations

from pathlib import Path

from scratchformers.tokenizers.compare import distinct_sizes
from scratchformers.viz.figures import pyplot, save_figure

PANELS = (
    ("bytes_per_token", "bytes per token (higher = better compression)"),
    ("unknown_per_kb", "unknown tokens per 1000 held-out bytes"),
    ("train_seconds", "training time (s)"),
)


def vocab_comparison_figure(rows: list[dict]):
    """Bytes/token, unknown tokens per kB and training time against vocabulary size, one line per kind.

    The x axis is the size each tokenizer reached (log scale: the sizes compared usually grow by
    factors). A vocabulary that saturated (a word-level one holds at most the corpus's distinct
    words) is drawn once, marked with the sizes asked for, not as a vertical line of repeats.
    Unknown tokens are counted per byte, not per token: per token, a fixed number of unseen
    characters looks like a rate that rises with the vocabulary.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.8))
    for kind in dict.fromkeys(r["kind"] for r in rows):
        sub = distinct_sizes(rows, kind)
        x = [r["vocab_size"] for r in sub]
        for ax, (key, _) in zip(axes, PANELS):
            (line,) = ax.plot(x, [r[key] for r in sub], marker="o", label=kind)
        for r in sub:
            asked = [
                a["requested_vocab_size"]
                for a in rows
                if a["kind"] == kind and a["vocab_size"] == r["vocab_size"]
            ]
            if r["saturated"]:
                axes[0].annotate(
                    f"saturated (asked {', '.join(map(str, asked))})",
                    (r["vocab_size"], r["bytes_per_token"]),
                    textcoords="offset points",
                    xytext=(-10, -14),
                    ha="right",
                    fontsize=8,
                    color=line.get_color(),
                )
    for ax, (_, title) in zip(axes, PANELS):
        ax.set_xscale("log")
        ax.set_xlabel("vocabulary size (reached)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend()
    return fig


def plot_vocab_comparison(rows: list[dict], path: str | Path) -> Path:
    """Write :func:`vocab_comparison_figure` as a PNG; returns the path."""
    return save_figure(vocab_comparison_figure(rows), path, dpi=120)
