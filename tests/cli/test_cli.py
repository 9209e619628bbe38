import subprocess
import sys

import pytest

from scratchformers.cli import build_parser, main


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_version(capsys):
    import scratchformers

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert scratchformers.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_info_reports_versions():
    import platform

    import torch

    out = subprocess.run(
        [sys.executable, "-m", "scratchformers", "info"], capture_output=True, text=True, check=True
    ).stdout
    assert torch.__version__ in out
    assert platform.python_version() in out
    assert "device" in out


def test_assets_lists_all(capsys):
    from scratchformers.assets import ASSETS

    main(["assets"])
    out = capsys.readouterr().out
    for name in ASSETS:
        assert name in out
