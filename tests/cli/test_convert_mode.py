"""`convert` (and save_pretrained) write model.safetensors with the mode any new file gets under the umask
(safetensors alone creates it 0600, unreadable to the group that shares the folder)."""

from __future__ import annotations

import os
import stat

import pytest

import scratchformers as sf
from scratchformers.cli import main


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_convert_output_follows_the_umask(tmp_path, umask, expected):
    src = tmp_path / "src"
    sf.GPT(sf.GPTConfig(vocab_size=32, max_positions=8, num_layers=1, num_heads=2, d_model=8)).save_pretrained(src)
    before = os.umask(umask)
    try:
        assert main(["convert", str(src), str(tmp_path / "out"), "--threads", "1"]) == 0
    finally:
        os.umask(before)
    for name in ("model.safetensors", "config.json"):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == expected, name
