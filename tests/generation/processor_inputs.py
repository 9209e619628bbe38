"""Random scores and ids shared by the processor tests (test_processors*.py put this folder on sys.path)."""

from __future__ import annotations

import torch

VOCAB = 50


def random_scores(seed: int, *, ties: bool = False, rows: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if ties:  # few distinct values: many exact ties at every cut-off
        return torch.randint(-4, 4, (rows, VOCAB), generator=g).float() * 0.75
    return torch.randn(rows, VOCAB, generator=g) * 3


def random_ids(seed: int, length: int = 12, vocab: int = VOCAB, rows: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (rows, length), generator=g)
