"""Shared lab settings. Set SCRATCHFORMERS_LAB_QUICK=1 for the small, fast version (tests use it)."""

import os
from pathlib import Path

QUICK = os.environ.get("SCRATCHFORMERS_LAB_QUICK", "0") == "1"
if QUICK:  # quick mode runs beside other work (tests): one thread avoids oversubscribing the cores
    import torch

    torch.set_num_threads(1)
OUT = Path(os.environ.get("SCRATCHFORMERS_LAB_OUT", "runs/labs"))
OUT.mkdir(parents=True, exist_ok=True)
