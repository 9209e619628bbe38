"""The ``scratchformers`` command line.

Subcommands live in :mod:`scratchformers.commands`, one module per command group; each module
defines ``register(subparsers)``. They are discovered here, so adding a command never means
editing this file. Heavy imports happen inside the command functions, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from scratchformers import __version__
from scratchformers import commands as _commands
from scratchformers.errors import ScratchformersError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except ScratchformersError as err:
        # Our errors are written for people: print them without a traceback.
        print(f"error: {err}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
