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
import errno
import importlib
import json
import pkgutil
import sys
import traceback

from scratchformers import commands as _commands
from scratchformers.errors import ScratchformersError, TrainingInterrupted
from scratchformers.version import __version__

USAGE_ERROR, INTERRUPTED, INTERNAL_ERROR = 2, 130, 1


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (the usage of ``train`` alone is 60 lines)."""

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


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
    return parser


def _missing_subcommand(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser | None:
    """The innermost parser whose subcommand was left out (``scratchformers cache``), if any."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if action is None:
            return None
        chosen = getattr(args, action.dest, None)
        if chosen is None:
            return parser
        parser = action.choices[chosen]


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
    args = parser.parse_args(argv)
    incomplete = _missing_subcommand(parser, args)
    if incomplete is not None:
        incomplete.print_help(sys.stderr)
        return USAGE_ERROR
    try:
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
