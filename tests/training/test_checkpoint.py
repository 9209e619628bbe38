"""Checkpoints: exact resume on CPU, atomic saves that survive kill -9, clear errors."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from scratchformers.data import RandomWindows
from scratchformers.errors import CheckpointError
from scratchformers.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from scratchformers.training.optim import build_optimizer
from scratchformers.training.trainer import Callback, Trainer


class _Crash(Callback):
    """Simulates a crash in the middle of step ``at`` (after the previous checkpoint was written)."""

    def __init__(self, at):
        self.at = at

    def on_step_end(self, trainer, record):
        if trainer.step == self.at:
            raise KeyboardInterrupt


def test_resume_gives_exactly_the_uninterrupted_losses(make_config, make_gpt, token_ids):
    # dropout > 0 and random windows: resume must restore the model, AdamW moments, the schedule,
    # the data generator and the global RNG, or the losses after step 6 differ.
    full = Trainer(make_gpt(), make_config("a", max_steps=12, save_every=6), RandomWindows(token_ids, 8, 4, seed=3)).fit()

    cfg = make_config("b", max_steps=12, save_every=6)
    with pytest.raises(KeyboardInterrupt):
        Trainer(make_gpt(), cfg, RandomWindows(token_ids, 8, 4, seed=3), callbacks=[_Crash(8)]).fit()
    # a fresh process starts with another init, data seed and RNG state: resume must override all three
    torch.manual_seed(999)
    resumed = Trainer(make_gpt(seed=5), cfg, RandomWindows(token_ids, 8, 4, seed=77)).fit(resume=True)

    assert [r["loss"] for r in resumed] == [r["loss"] for r in full]  # bit-exact, all 12 steps
    assert [r["lr"] for r in resumed] == [r["lr"] for r in full]
    assert len({r["loss"] for r in full[6:]}) > 1  # the losses really vary


def test_checkpoint_roundtrip_tied_weights_and_optimizer(make_config, make_gpt, token_ids):
    cfg = make_config(max_steps=3, save_every=3)
    trainer = Trainer(make_gpt(), cfg, RandomWindows(token_ids, 8, 4))
    trainer.fit()
    model = make_gpt(seed=1)
    opt = build_optimizer(model, 1e-3)
    state = load_checkpoint(Path(cfg.run_dir), model, opt)
    assert state["step"] == 3
    for (name, a), b in zip(trainer.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    assert model.lm_head.weight.data_ptr() == model.token_embedding.weight.data_ptr()  # still tied
    ours, theirs = trainer.optimizer.state_dict()["state"], opt.state_dict()["state"]
    assert ours.keys() == theirs.keys()
    for k in ours:
        assert torch.equal(ours[k]["exp_avg_sq"], theirs[k]["exp_avg_sq"])


def test_keep_last_prunes_old_checkpoints(tmp_path, make_gpt):
    model = make_gpt()
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, model, keep_last=2)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_000003", "step_000004"]
    assert json.loads((tmp_path / "latest.json").read_text())["step"] == 4


def test_missing_and_mismatched_checkpoints_are_clear_errors(tmp_path, make_gpt):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path, make_gpt())
    save_checkpoint(tmp_path, 1, make_gpt(vocab_size=16))
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path, make_gpt(vocab_size=17))
    save_checkpoint(tmp_path, 2, make_gpt(), build_optimizer(make_gpt(), 1e-3))
    with pytest.raises(CheckpointError, match="does not match"):  # 2 parameter groups vs 1
        load_checkpoint(tmp_path, make_gpt(), torch.optim.AdamW(make_gpt().parameters()))


_SAVER = textwrap.dedent(
    """
    import sys, torch
    from scratchformers.models import GPT, GPTConfig
    from scratchformers.training.checkpoint import save_checkpoint
    model = GPT(GPTConfig(vocab_size=5000, max_positions=64, num_layers=4, num_heads=4, d_model=256))
    opt = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 4, dtype=torch.long), labels=torch.zeros(1, 4, dtype=torch.long)).loss.backward()
    opt.step()
    save_checkpoint(sys.argv[1], 1, model, opt)
    print("ready", flush=True)
    step = 2
    while True:  # save forever; the test kills us in the middle of one of these
        save_checkpoint(sys.argv[1], step, model, opt, keep_last=2)
        step += 1
    """
)


def test_kill_9_during_save_leaves_a_loadable_latest_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    directory = tmp_path / "ckpt"
    proc = subprocess.Popen([sys.executable, str(script), str(directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)  # several ~8 MB saves are in flight by now
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    from scratchformers.models import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=5000, max_positions=64, num_layers=4, num_heads=4, d_model=256))
    opt = torch.optim.AdamW(model.parameters())
    target = latest_checkpoint(directory)
    state = load_checkpoint(directory, model, opt)  # must not raise
    assert state["step"] >= 1 and target.name == f"step_{state['step']:06d}"
    assert opt.state_dict()["state"]  # the moments came back
