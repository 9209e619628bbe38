"""Checkpoints: exact resume on CPU, atomic saves that survive kill -9, clear errors."""

import errno
import json
import os
import shutil
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
from scratchformers.training.checkpoint import (
    checkpoint_dirs,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
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


# ---- hostile cases (issue 16) --------------------------------------------------------------------


def test_pruning_orders_by_step_number_across_the_million_boundary(tmp_path):
    # step_%06d grows a 7th digit at 1,000,000: string order put step_1000000 before step_999999
    # and pruned the NEWEST checkpoint (then resume failed).
    model = torch.nn.Linear(2, 2)
    for step in (999_999, 1_000_000, 1_000_001):
        save_checkpoint(tmp_path, step, model, keep_last=2)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_1000000", "step_1000001"]
    assert latest_checkpoint(tmp_path).name == "step_1000001"
    assert load_checkpoint(tmp_path, torch.nn.Linear(2, 2))["step"] == 1_000_001
    assert [n for n, _ in checkpoint_dirs(tmp_path)] == [1_000_000, 1_000_001]


def test_a_failed_write_leaves_no_temporary_folder_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    from scratchformers.training import checkpoint

    model = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path, 1, model, torch.optim.AdamW(model.parameters()))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", disk_full)  # the optimizer file, after the weights
    for step in (2, 3):
        with pytest.raises(CheckpointError, match=r"step 2 .*disk is full; the last complete one \(step 1\) is intact"
                           if step == 2 else "disk is full"):
            save_checkpoint(tmp_path, step, model, torch.optim.AdamW(model.parameters()))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    assert latest_checkpoint(tmp_path).name == "step_000001"


def test_a_damaged_checkpoint_names_the_file_and_the_previous_one(tmp_path):
    model = torch.nn.Linear(4, 4)
    for step in (1, 2):
        save_checkpoint(tmp_path, step, model)
    weights = tmp_path / "step_000002" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])  # truncated after it was written
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path, torch.nn.Linear(4, 4))
    message = str(err.value)
    assert "is damaged" in message and "step_000001" in message and "delete" not in message
    (tmp_path / "step_000002" / "state.json").write_text('{"step": 2, "optim')
    with pytest.raises(CheckpointError, match="is damaged"):
        load_checkpoint(tmp_path, torch.nn.Linear(4, 4))
    (tmp_path / "step_000002" / "state.json").write_text('[2, "not an object"]')  # valid JSON, wrong kind
    with pytest.raises(CheckpointError, match="is damaged.*does not hold an object"):
        load_checkpoint(tmp_path / "step_000002", torch.nn.Linear(4, 4))


def test_an_unreadable_latest_json_falls_back_to_the_newest_intact_checkpoint(tmp_path):
    model = torch.nn.Linear(2, 2)
    for step in (5, 10):
        save_checkpoint(tmp_path, step, model)
    (tmp_path / "latest.json").write_text('{"step": 10, "di')  # hand-damaged; the checkpoints are fine
    with pytest.warns(UserWarning, match="step_000010"):
        assert latest_checkpoint(tmp_path).name == "step_000010"
    for folder in tmp_path.glob("step_*"):
        shutil.rmtree(folder)
    with pytest.raises(CheckpointError, match="no step_\\* checkpoint"):
        latest_checkpoint(tmp_path)
