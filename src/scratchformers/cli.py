"""The ``scratchformers`` command line.

Subcommands live in :mod:`scratchformers.commands`, one module per command group; each module
defines ``register(subparsers)``. They are discovered here, so adding a command never means
editing this file. Heavy imports happen inside the command functions, so ``--help`` is instant.

This file is also the one error boundary of every command (exit codes in docs/training.md):

* 0  success;
* 2  a user mistake: our error classes, bad arguments, a missing/unreadable/non-UTF-8 file, a full
  disk, a busy run directory, a group without its subcommand. One line on stderr: what, why, the fix;
* 130  Ctrl-C (training saves a checkpoint first and says where);
* 1  a bug in scratchformers: the traceback, and how to report it.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import errno
import importlib
import json
import pkgutil
import sys
import traceback

from scratchformers import commands as _commands
from scratchformers.errors import ScratchformersError, TrainingInterrupted
from scratchformers.threads import set_threads
from scratchformers.version import __version__

USAGE_ERROR, INTERRUPTED, INTERNAL_ERROR = 2, 130, 1

# The snake_case spellings (--max_steps) accepted next to every kebab-case flag (--max-steps);
# hidden from --help so each option is listed once.
_ALIASES: set[str] = set()


class HelpFormatter(argparse.HelpFormatter):
    """--help without the snake_case aliases, and with the default of every option that has one."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        shown = copy.copy(action)
        shown.option_strings = [s for s in action.option_strings if s not in _ALIASES]
        return super()._format_action_invocation(shown)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default is False or default is argparse.SUPPRESS or not action.option_strings
                or isinstance(action, (argparse._VersionAction, argparse._HelpAction))):
            return text
        if default is None:
            shown = "none"
        else:
            shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (the usage of ``train`` alone is 60 lines)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _all_parsers(sub)


def _add_snake_aliases(parser: argparse.ArgumentParser) -> None:
    """--max-steps also answers to --max_steps (and --model.d-model to --model.d_model)."""
    for action in list(parser._actions):
        for option in list(action.option_strings):
            alias = "--" + option[2:].replace("-", "_")
            if option.startswith("--") and alias != option and alias not in parser._option_string_actions:
                action.option_strings.append(alias)
                parser._option_string_actions[alias] = action
                _ALIASES.add(alias)


def _add_threads_option(parser: argparse.ArgumentParser) -> None:
    if "--threads" not in parser._option_string_actions:
        parser.add_argument("--threads", type=int, default=None, metavar="N",
                            help="torch CPU threads (default: the idle cores, cores - round(load average), "
                            "at least 1; see docs/threads.md)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="scratchformers",
        description="Transformers for NLP from scratch: models, tokenizers, generation, "
        "training and a doctor for the classic bugs.",
    )
    parser.add_argument("--version", action="version", version=f"scratchformers {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(subparsers)
    for sub in _all_parsers(parser):
        if sub is not parser:
            _add_threads_option(sub)
        _add_snake_aliases(sub)
    return parser


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand parser the command line chose (``generate``, ``cache clear``)."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, action.dest, None) if action is not None else None
        if chosen is None:
            return parser
        parser = action.choices[chosen]


def _unknown_arguments(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """``unrecognized arguments: --tpo-p; did you mean --top-p?`` (difflib over the visible options)."""
    options = [s for s in parser._option_string_actions if s.startswith("--") and s not in _ALIASES]
    message = f"unrecognized arguments: {' '.join(extras)}"
    flag = next((e.split("=")[0] for e in extras if e.startswith("--")), None)
    close = difflib.get_close_matches(flag, options, n=1) if flag else []
    return message + (f"; did you mean {close[0]}?" if close else "")


def _undecodable_argument(argv: list[str]) -> str | None:
    """Arguments that were not UTF-8 reach Python as lone surrogates (PEP 383): name the first one."""
    for position, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as err:
            raw = arg.encode("utf-8", "surrogateescape")[err.start : err.start + 1]
            return f"argument {position} is not valid UTF-8 (byte {raw.hex() if raw else '?'} at character {err.start})"
    return None


def _user_error_line(err: BaseException) -> str | None:
    """One line for a user-caused exception, None for a bug (which then gets a traceback)."""
    if isinstance(err, ScratchformersError):
        return str(err)
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return f"the disk is full{f' writing {err.filename}' if err.filename else ''}; free some space and retry"
    if isinstance(err, OSError) and err.filename is not None:
        fixes = {errno.ENOENT: "check the path", errno.EACCES: "check its permissions",
                 errno.EPERM: "check its permissions", errno.EISDIR: "give a file, not a folder",
                 errno.ENOTDIR: "a parent of that path is a file", errno.EROFS: "write somewhere else"}
        fix = fixes.get(err.errno, "check the path and the disk")
        return f"cannot use {err.filename}: {err.strerror}; {fix}"
    if isinstance(err, json.JSONDecodeError):  # a hand-edited or truncated config.json / tokenizer.json
        return (f"a JSON file this command reads is not valid JSON ({err.msg} at line {err.lineno} column "
                f"{err.colno}); check the config.json / tokenizer.json / vocab files it was given")
    if isinstance(err, UnicodeDecodeError):
        return (f"an input is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
                "convert it to UTF-8")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    bad_argument = _undecodable_argument(argv)
    if bad_argument:
        print(f"error: {bad_argument}; pass text and paths as UTF-8", file=sys.stderr)
        return USAGE_ERROR
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    chosen = _chosen_parser(parser, args)
    if extras:  # reported by the subcommand that got them, not by the top-level parser
        chosen.error(_unknown_arguments(chosen, extras))
    if any(isinstance(a, argparse._SubParsersAction) for a in chosen._actions):  # `scratchformers cache`
        chosen.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        set_threads(getattr(args, "threads", None))
        result = args.func(args)
    except TrainingInterrupted as err:
        print(err, file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C)", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:  # the boundary: people get one line, bugs get a traceback
        line = _user_error_line(err)
        if line is None:
            traceback.print_exc()
            print(f"internal error in scratchformers {__version__}: this is a bug; please report it on the project's "
                  "issue tracker with the command line, the output of `scratchformers info` and the traceback above",
                  file=sys.stderr)
            return INTERNAL_ERROR
        print(f"error: {' '.join(line.split())}", file=sys.stderr)
        return USAGE_ERROR
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
