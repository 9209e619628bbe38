"""The Trainer applies backends.optimize on the CPU by default (``cpu_backends``), with the same
losses as the plain model, and leaves the model plain when switched off."""

import numpy as np
import pytest
import torch

from scratchformers import backends
from scratchformers.backends import choice
from scratchformers.data import RandomWindows
from scratchformers.models import GPT, GPTConfig
from scratchformers.training.config import TrainConfig
from scratchformers.training.trainer import Trainer


def _run(tmp_path, name: str, kernel: str | None, **overrides):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, max_positions=16, num_layers=2, num_heads=2, d_model=32, dropout=0.0))
    ids = np.tile(np.random.default_rng(0).integers(0, 16, size=40), 20).astype(np.uint16)
    config = TrainConfig(max_steps=6, lr=3e-3, warmup_steps=2, batch_size=8, block_size=8, log_every=1, eval_every=100,
                         save_every=0, progress=False, plot=False, run_dir=str(tmp_path / name), device="cpu",
                         **overrides)
    with choice.forced(kernel):
        trainer = Trainer(model, config, RandomWindows(ids, 8, 8, seed=1))
        history = trainer.fit()
    return trainer, [h["loss"] for h in history]


@pytest.mark.parametrize("kernel", ["onednn", None])  # a forced oneDNN run, and the measured choice
def test_default_trainer_is_optimized_with_the_plain_losses(tmp_path, kernel):
    if kernel == "onednn" and not backends.ONEDNN_LINEAR:
        pytest.skip("oneDNN's linear op is not in this build")
    fast, fast_losses = _run(tmp_path, "fast", kernel)
    plain, plain_losses = _run(tmp_path, "plain", kernel, cpu_backends=False)
    assert backends.is_optimized(fast.model) and not backends.is_optimized(plain.model)
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-4)
    assert fast_losses[-1] < fast_losses[0]


def test_cpu_backends_is_a_config_switch():
    assert TrainConfig().cpu_backends is True
    assert TrainConfig(cpu_backends=False).to_dict()["cpu_backends"] is False
