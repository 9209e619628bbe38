"""``scratchformers assets``: the packaged offline assets and whether they are installed."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("assets", help="list the packaged offline assets and their status")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from scratchformers.assets import list_assets

    table = Table(title="scratchformers offline assets")
    for col in ("asset", "status", "size", "path / install command"):
        table.add_column(col)
    missing = 0
    for row in list_assets():
        if row["installed"]:
            table.add_row(row["name"], "installed", f"{row['size'] / 2**20:.1f} MiB", row["path"])
        else:
            missing += 1
            table.add_row(row["name"], "[red]missing[/red]", "-", row["install"])
    Console().print(table)
    return 1 if missing else 0
