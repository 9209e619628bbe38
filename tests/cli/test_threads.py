"""The thread rule (cores - round(load), at least 1, at most the cores), --threads and sf.set_threads."""

from __future__ import annotations

import pytest
import torch

import scratchformers as sf
from scratchformers.cli import main
from scratchformers.doctor.env import load_finding
from scratchformers.errors import ConfigError
from scratchformers.threads import default_threads


@pytest.mark.parametrize("cores, load, expected", [
    (2, 0.0, 2),      # idle: every core
    (2, 0.4, 2),      # a little background noise rounds away
    (2, 1.0, 1),      # one busy-loop process on one core: leave it that core
    (2, 7.0, 1),      # the loaded machine: never below one thread
    (16, 3.6, 12),    # 16 cores, about 4 busy: 12 idle
    (4, -0.2, 4),     # never more than the cores
])
def test_rule_with_injected_load_and_cores(cores, load, expected):
    assert default_threads(cores=cores, load=load) == expected


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_set_threads_sets_torch_and_validates(restore_threads):
    assert sf.set_threads(1) == 1 and torch.get_num_threads() == 1
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(ConfigError, match="threads must be a whole number >= 1"):
            sf.set_threads(bad)


def test_set_threads_default_honours_omp_num_threads(restore_threads, monkeypatch):
    import scratchformers.threads

    monkeypatch.setattr(scratchformers.threads, "default_threads", lambda *a, **k: 2)  # the rule would say 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert sf.set_threads() == 1


def test_threads_option_on_every_command(restore_threads, capsys):
    assert main(["info", "--threads", "1"]) == 0
    assert "threads: 1" in " ".join(capsys.readouterr().out.split())
    assert torch.get_num_threads() == 1


def test_threads_option_refuses_zero(capsys):
    assert main(["info", "--threads", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "threads must be a whole number >= 1, got 0" in err


def test_doctor_env_warns_when_load_exceeds_cores():
    loaded = load_finding(2, cores=2, load=7.0)
    assert loaded.status == "warn" and "load average 7.0 on 2 cores" in loaded.message and "--threads 1" in loaded.fix
    assert load_finding(2, cores=2, load=1.5).status == "ok"
