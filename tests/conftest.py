"""Shared fixtures: the offline assets (skipped with the install command when missing)."""

from __future__ import annotations

import os

import pytest
import torch

# Under pytest-xdist each worker gets one thread, so two workers do not fight over two cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def _asset(name: str):
    from scratchformers.assets import asset_path
    from scratchformers.errors import AssetNotInstalledError

    try:
        return asset_path(name)
    except AssetNotInstalledError as err:  # make setup installs them; a bare pytest may not have
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def minilm_dir():
    return _asset("minilm")


@pytest.fixture(scope="session")
def smollm2_gguf():
    return _asset("smollm2-135m")


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir():
    return _asset("gpt2-tokenizer")


@pytest.fixture(scope="session")
def rotten_tomatoes():
    from scratchformers.assets import rotten_tomatoes

    _asset("rotten-tomatoes")
    return rotten_tomatoes()


@pytest.fixture
def single_row_spy(monkeypatch):
    """A list that records, for every fast-path linear call at inference, whether the compiled
    single-row kernel produced the result (scratchformers.backends.gemv.single_row)."""
    from scratchformers.backends import gemv

    used, original = [], gemv.single_row

    def spy(x, weight, bias):
        out = original(x, weight, bias)
        used.append(out is not None)
        return out

    monkeypatch.setattr(gemv, "single_row", spy)
    return used
