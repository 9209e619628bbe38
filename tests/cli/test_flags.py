"""Flags: kebab-case everywhere with the snake_case spelling as a hidden alias, a help line and a default
for every option, errors reported by the subcommand that got them, a spinner on long waits."""

from __future__ import annotations

import argparse
import io
import time

import pytest

from scratchformers.cli import HelpFormatter, _all_parsers, build_parser, main
from scratchformers.commands._wait import waiting


def _options():
    for parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                yield parser, action


def test_every_option_is_kebab_case_with_a_help_line_and_a_default():
    checked = 0
    for parser, action in _options():
        primary = action.option_strings[-1] if action.option_strings[0].startswith("-") and \
            not action.option_strings[0].startswith("--") else action.option_strings[0]
        assert "_" not in primary, (parser.prog, primary)
        text = HelpFormatter(parser.prog)._get_help_string(action)
        assert text and text.strip(), (parser.prog, primary)
        if action.default is not False:  # on/off flags have no value to default
            assert "default" in text, (parser.prog, primary, text)
        checked += 1
    assert checked > 120  # train's ~70 overrides and ~40 model settings are among them


def test_train_help_lists_overrides_with_description_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--max-steps INT optimizer steps to run (default: 2000)" in out
    assert "--save-every INT steps between checkpoints" in out and "(default: 500)" in out
    assert "--model.num-layers VALUE" in out and "GPTConfig" in out
    assert "--max_steps INT" not in out and " V " not in out  # aliases hidden, no bare metavars


@pytest.mark.parametrize("argv, dest, value", [
    (["train", "--max-steps", "7"], "cfg:max_steps", "7"),
    (["train", "--max_steps", "7"], "cfg:max_steps", "7"),
    (["train", "--model.d-model", "64"], "cfg:model.d_model", "64"),
    (["train", "--model.d_model", "64"], "cfg:model.d_model", "64"),
    (["generate", "m", "p", "--top-p", "0.9"], "top_p", 0.9),
    (["generate", "m", "p", "--top_p", "0.9"], "top_p", 0.9),
    (["finetune", "m", "--max_steps", "3"], "max_steps", 3),
    (["finetune", "m", "--no_keep_best"], "keep_best", False),
])
def test_both_spellings_parse(argv, dest, value):
    assert getattr(build_parser().parse_args(argv), dest) == value


def _one_line_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_unknown_option_is_reported_by_its_subcommand(capsys):
    err = _one_line_error(capsys, ["generate", "smollm2-135m", "hi", "--top-q", "0.9"])
    assert err.startswith("error: scratchformers generate: unrecognized arguments: --top-q 0.9")
    assert "did you mean --top-p?" in err and "`scratchformers generate --help`" in err
    err = _one_line_error(capsys, ["cache", "clear", "gpt2", "--dryrun"])
    assert "scratchformers cache clear:" in err and "did you mean --dry-run?" in err


def test_bad_preset_is_one_line(capsys):
    err = _one_line_error(capsys, ["train", "--preset", "char-gtp"])
    assert "scratchformers train: argument --preset" in err and "'char-gtp'" in err and "char-gpt" in err


class _Terminal(io.StringIO):
    def isatty(self):
        return False  # the log/pipe branch: plain lines (rich's spinner is the terminal branch)


def test_spinner_line_on_a_slow_stub_and_none_on_a_fast_one(monkeypatch):
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    with waiting("loading stub", delay=0.05):
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "loading stub ..." and lines[1].startswith("loading stub: done in ")
    assert float(lines[1].split("done in ")[1].split()[0]) >= 0.3
    stream.truncate(0)
    stream.seek(0)
    with waiting("fast stub", delay=0.5):
        pass
    time.sleep(0.6)  # the timer was cancelled: nothing appears later either
    assert stream.getvalue() == ""


def test_generate_shows_the_wait_while_loading(monkeypatch, capsys):
    import scratchformers.commands._wait as wait
    import scratchformers.hub as hub
    from scratchformers.errors import ConfigError

    def slow_loader(*args, **kwargs):
        time.sleep(0.3)
        raise ConfigError("stub loader: stop here")

    monkeypatch.setattr(hub, "load_model_and_tokenizer", slow_loader)
    monkeypatch.setattr(wait, "DELAY_S", 0.05)
    assert main(["generate", "some-model", "hello"]) == 2
    err = capsys.readouterr().err
    assert "loading some-model and its tokenizer ..." in err and "stub loader: stop here" in err
