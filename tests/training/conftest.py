"""Tiny models and data shared by the training tests (everything small enough for a few seconds)."""

import numpy as np
import pytest
import torch

from scratchformers.models import GPT, GPTConfig
from scratchformers.training.config import TrainConfig

# These models are tiny: one thread is faster than two fighting over a shared 2-core machine.
torch.set_num_threads(1)


def tiny_gpt(vocab_size=16, dropout=0.1, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, max_positions=16, num_layers=2, num_heads=2, d_model=32, dropout=dropout))


def tiny_config(tmp_path, **overrides):
    values = dict(max_steps=10, lr=3e-3, warmup_steps=2, batch_size=4, block_size=8, log_every=1, eval_every=5,
                  save_every=0, progress=False, plot=False, run_dir=str(tmp_path / "run"), device="cpu")
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture
def token_ids():
    # a repetitive but not trivial sequence: learnable, so losses move
    rng = np.random.default_rng(0)
    base = rng.integers(0, 16, size=40)
    return np.tile(base, 50).astype(np.uint16)


@pytest.fixture
def make_gpt():
    return tiny_gpt


@pytest.fixture
def make_config(tmp_path):
    return lambda sub="", **kw: tiny_config(tmp_path / sub if sub else tmp_path, **kw)
