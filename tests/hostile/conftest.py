"""Helpers of the hostile-input suite: run the CLI in-process and judge its stderr."""

from __future__ import annotations

import pytest
import torch

from scratchformers.cli import main

torch.set_num_threads(1)

CORPUS = "to be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. " * 12


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``scratchformers ARGV``; argparse's SystemExit counts as a code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(result: tuple[int, str, str], *needles: str) -> str:
    """Exit 2, exactly one line on stderr, no traceback, and the line names what it should."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def cli(capsys):
    """``cli(argv)`` -> (exit code, stdout, stderr)."""
    return lambda argv: run_cli(argv, capsys)


@pytest.fixture
def user_error():
    return assert_user_error


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS)
    return path


@pytest.fixture
def train_args(tmp_path, corpus):
    """A tiny causal-LM run (1 layer, d_model 16): seconds on a CPU."""
    def make(*extra: str, run: str = "run") -> list[str]:
        return ["train", "--data", str(corpus), "--run_dir", str(tmp_path / run), "--max_steps", "4",
                "--model.num_layers", "1", "--model.d_model", "16", "--model.num_heads", "2", "--block_size", "8",
                "--batch_size", "2", "--eval_every", "2", "--eval_batches", "1", "--save_every", "2",
                "--warmup_steps", "1", "--progress", "false", "--plot", "false", "--device", "cpu", *extra]

    return make
