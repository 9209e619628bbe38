"""Headless matplotlib for every PNG the package writes (training curves, confusion matrices,
tokenizer trade-offs, attention heatmaps)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed), imported lazily
    so that importing scratchformers never pays for matplotlib. A notebook's inline backend is left
    alone: switching it to Agg would stop every later figure of the notebook from showing."""
    import matplotlib

    if "inline" not in matplotlib.get_backend():
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Lay out, write (creating the folder) and close ``fig``; returns the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
