"""Small helpers shared across the package (device choice, seeding)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def tracing() -> bool:
    """True while ``torch.compile`` traces the model. Data-dependent input checks (``int(x.max())``)
    would break the compiled graph, so they are skipped then; they still run in eager mode."""
    return torch.compiler.is_compiling()


def default_device() -> torch.device:
    """The best device available: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def cache_root() -> Path:
    """The user cache folder of scratchformers (converted GGUF assets, measured kernel choices):
    ``$SCRATCHFORMERS_CACHE``, else ``$XDG_CACHE_HOME/scratchformers``, else ``~/.cache/scratchformers``."""
    if os.environ.get("SCRATCHFORMERS_CACHE"):
        return Path(os.environ["SCRATCHFORMERS_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "scratchformers"
