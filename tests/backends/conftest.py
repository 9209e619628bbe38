"""Every backends test measures into its own GEMM-choice cache (never the user's ~/.cache)."""

import pytest

from scratchformers.backends import choice


@pytest.fixture(autouse=True)
def private_choice_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHFORMERS_CACHE", str(tmp_path / "cache"))
    choice.clear()
    yield tmp_path / "cache"
    choice.clear()
