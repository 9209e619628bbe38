"""Training runs under faults: resume rules, damaged checkpoints, a full disk, two runs, Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

import scratchformers
from scratchformers.training.trainer import Trainer


def _train_steps(run) -> list[int]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [json.loads(x)["step"] for x in lines if '"train"' in x]


def test_resume_without_a_checkpoint_is_an_error_not_a_fresh_start(tmp_path, cli, user_error, train_args):
    user_error(cli(train_args("--resume")), "--resume", "has no checkpoint")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_resume_refuses_changed_settings_and_lists_them(tmp_path, cli, user_error, train_args, corpus):
    assert cli(train_args())[0] == 0
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text())
    line = user_error(cli(train_args("--resume", "--lr", "0.002", "--data", str(other), "--model.d_model", "32")),
                      "lr: saved 0.001, now 0.002", "other.txt", "d_model")
    assert "max_steps" in line  # the message says what MAY change
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["lr"] == 1e-3 and saved["data"] == str(corpus)  # nothing was overwritten


def test_resume_may_switch_the_cpu_backends(tmp_path, cli, train_args):
    """cpu_backends changes which kernels compute the same maths: allowed on resume, like device."""
    assert cli(train_args())[0] == 0
    code, out, _ = cli(train_args("--resume", "--max_steps", "6", "--cpu_backends", "false"))
    assert code == 0 and "cpu_backends True -> False" in out


def test_resume_applies_allowed_changes_and_takes_the_rest_from_the_checkpoint(tmp_path, cli, train_args):
    assert cli(train_args())[0] == 0
    run = tmp_path / "run"
    # only the run folder and what changes: every other setting comes from the checkpoint
    code, out, err = cli(["train", "--run_dir", str(run), "--resume", "--max_steps", "6", "--log_every", "2"])
    assert code == 0, err
    assert "resume: max_steps 4 -> 6" in out and "resume: log_every 10 -> 2" in out
    assert _train_steps(run)[-1] == 6
    config = json.loads((run / "config.json").read_text())
    assert config["max_steps"] == 6 and config["model"]["d_model"] == 16 and config["block_size"] == 8
    code, _, err = cli(["train", "--run_dir", str(run), "--resume"])
    assert code == 2 and "nothing left to train" in err


def test_truncated_checkpoint_on_resume_points_at_the_previous_one(tmp_path, cli, user_error, train_args):
    assert cli(train_args())[0] == 0
    checkpoints = tmp_path / "run" / "checkpoints"
    weights = checkpoints / "step_000004" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    line = user_error(cli(train_args("--resume", "--max_steps", "6")), "is damaged", "step_000004",
                      f"--resume {checkpoints / 'step_000002'}")
    assert "latest.json" not in line
    code, _, err = cli(train_args("--resume", str(checkpoints / "step_000002"), "--max_steps", "6"))
    assert code == 0, err


def test_full_disk_during_training_is_one_line_and_leaves_no_temporary_folder(tmp_path, cli, user_error, train_args,
                                                                             monkeypatch):
    from scratchformers.training import checkpoint

    calls = []

    def fill_up(*args, **kwargs):
        calls.append(1)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_model", fill_up)
    user_error(cli(train_args()), "could not write checkpoint step 2", "disk is full", "--resume")
    assert calls and not list((tmp_path / "run" / "checkpoints").glob(".tmp-*"))


_HOLDER = """
import sys, time
from scratchformers.training.run_lock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_run_on_a_busy_run_dir_fails_clearly(tmp_path, cli, user_error, train_args):
    env = {**os.environ, "PYTHONPATH": str(Path(scratchformers.__file__).parents[1])}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "run")], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        user_error(cli(train_args()), "is in use by process", str(holder.pid), "another --run_dir")
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
    assert cli(train_args())[0] == 0  # the holder is gone: its lock went with it (killed, never released)


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, cli, train_args):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps({"pid": 2**22 + 17, "host": "gone", "started": "yesterday"}))
    code, _, err = cli(train_args())
    assert code == 0, err
    assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()


def test_ctrl_c_saves_a_checkpoint_exits_130_and_resume_matches_an_uninterrupted_run(tmp_path, cli, train_args,
                                                                                    monkeypatch):
    assert cli(train_args("--max_steps", "6", run="full"))[0] == 0

    original = Trainer.train_step

    def press_ctrl_c_at_step_3(self):
        record = original(self)
        if self.step == 3:
            signal.raise_signal(signal.SIGINT)  # a real signal, delivered to the trainer's handler
        return record

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        monkeypatch.setattr(Trainer, "train_step", press_ctrl_c_at_step_3)
        code, _, err = cli(train_args("--max_steps", "6", run="cut"))
        monkeypatch.undo()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130, err
    last = err.strip().splitlines()[-1]
    assert "interrupted at step 3" in last and "step_000003" in last and "--resume" in last and "Traceback" not in err
    assert cli(train_args("--max_steps", "6", "--resume", run="cut"))[0] == 0
    a = load_file(tmp_path / "full" / "checkpoints" / "step_000006" / "model.safetensors")
    b = load_file(tmp_path / "cut" / "checkpoints" / "step_000006" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)  # bit-identical weights


@pytest.mark.parametrize("step", [999_999])
def test_step_numbers_past_a_million_keep_the_newest(tmp_path, step):
    import torch

    from scratchformers.training.checkpoint import latest_checkpoint, save_checkpoint

    for s in (step, step + 1, step + 2):
        save_checkpoint(tmp_path, s, torch.nn.Linear(1, 1), keep_last=2)
    assert latest_checkpoint(tmp_path).name == f"step_{step + 2}"
    assert (tmp_path / f"step_{step + 1}").exists() and not (tmp_path / f"step_{step:06d}").exists()


def test_a_second_ctrl_c_stops_at_once(capsys):
    from scratchformers.training.interrupt import StopAfterStep

    stopper = StopAfterStep()
    previous = signal.getsignal(signal.SIGINT)
    try:
        stopper.request(signal.SIGINT, None)
        assert stopper.requested and "Ctrl-C again to stop at once" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            stopper.request(signal.SIGINT, None)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_only_rank_0_takes_the_lock_under_torchrun(tmp_path, monkeypatch):
    from scratchformers.training.run_lock import _held, lock_on_main_rank

    monkeypatch.setenv("RANK", "1")
    with lock_on_main_rank(tmp_path / "run"):
        assert not _held and not (tmp_path / "run" / ".lock").exists()
    monkeypatch.setenv("RANK", "0")
    with lock_on_main_rank(tmp_path / "run"):
        assert (tmp_path / "run").resolve() in _held
