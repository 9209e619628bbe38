"""Shared lab settings. Set SCRATCHFORMERS_LAB_QUICK=1 for the small, fast version (tests use it).

Figures go through :func:`show`: always saved as a PNG under ``OUT``, and displayed inline when the lab
runs as a notebook (a Jupyter kernel). Run as a script, matplotlib draws off-screen (Agg), files only.
"""

import os
import sys
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules  # the kernel sets the inline backend itself
if not IN_NOTEBOOK:
    matplotlib.use("Agg")

QUICK = os.environ.get("SCRATCHFORMERS_LAB_QUICK", "0") == "1"
if QUICK:  # quick mode runs beside other work (tests): one thread avoids oversubscribing the cores
    import torch

    print("quick mode (SCRATCHFORMERS_LAB_QUICK=1): smaller sizes and fewer steps than the full lab")
    torch.set_num_threads(1)
OUT = Path(os.environ.get("SCRATCHFORMERS_LAB_OUT", "runs/labs"))
OUT.mkdir(parents=True, exist_ok=True)


def show(fig, name: str) -> None:
    """Save ``fig`` as ``OUT/name``, display it inline under a notebook kernel, then close it."""
    import matplotlib.pyplot as plt

    path = OUT / name
    fig.savefig(path, dpi=100)
    if IN_NOTEBOOK:
        from IPython.display import display

        display(fig)
    plt.close(fig)  # closed: the inline backend does not draw it a second time at the end of the cell
    print("saved", os.path.relpath(path))
