"""The vocabulary-size trade-off plot for ``tokenizers.compare_vocab_sizes`` rows."""

from __future__ import annotations

from pathlib import Path

from scratchformers.viz.figures import pyplot, save_figure


def plot_vocab_comparison(rows: list[dict], path: str | Path) -> Path:
    """Bytes/token, unknown rate and training time against vocabulary size, one line per kind.

    The x axis is the size each tokenizer reached (which can be below the size asked for); log
    scale, since the sizes compared usually grow by factors.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for kind in dict.fromkeys(r["kind"] for r in rows):
        sub = [r for r in rows if r["kind"] == kind]
        x = [r["vocab_size"] for r in sub]
        axes[0].plot(x, [r["bytes_per_token"] for r in sub], marker="o", label=kind)
        axes[1].plot(x, [100 * r["unknown_rate"] for r in sub], marker="o", label=kind)
        axes[2].plot(x, [r["train_seconds"] for r in sub], marker="o", label=kind)
    for ax, title in zip(
        axes, ("bytes per token (higher = better compression)", "unknown tokens (%)", "training time (s)")
    ):
        ax.set_xscale("log")
        ax.set_xlabel("vocabulary size")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend()
    return save_figure(fig, path, dpi=120)
