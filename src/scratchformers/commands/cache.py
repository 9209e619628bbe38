"""``scratchformers cache clear MODEL_ID``: remove one Hugging Face cache entry."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from scratchformers.errors import CheckpointError, ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("cache", help="inspect or clear the Hugging Face model cache")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    clear = sub.add_parser("clear", help="delete one model from the Hugging Face cache (asks first)")
    clear.add_argument("model_id", metavar="MODEL_ID", help="e.g. gpt2 or sentence-transformers/all-MiniLM-L6-v2")
    clear.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    clear.set_defaults(func=run_clear)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def cache_entry(model_id: str, cache: Path) -> Path:
    """The cache folder of ``model_id`` (models--org--name; datasets/ and spaces/ prefixes allowed)."""
    kind = "models"
    for prefix in ("datasets/", "spaces/"):
        if model_id.startswith(prefix):
            kind, model_id = prefix[:-1], model_id[len(prefix):]
    entry = cache / f"{kind}--{model_id.replace('/', '--')}"
    if not entry.is_dir():
        known = sorted(p.name for p in cache.glob("*--*")) if cache.is_dir() else []
        listing = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "") if known else "the cache is empty"
        raise CheckpointError(f"no cache entry for {model_id!r} in {cache} ({listing})")
    return entry


def run_clear(args: argparse.Namespace) -> int:
    from scratchformers.doctor.env import dir_size, hf_cache_dir

    cache = hf_cache_dir()
    entry = cache_entry(args.model_id, cache)
    files = sorted(p for p in entry.rglob("*") if p.is_file() or p.is_symlink())
    size = dir_size(entry)
    for f in files:
        link = f" -> {f.resolve().name}" if f.is_symlink() else f"  {f.stat().st_size / 2**20:.1f} MiB"
        print(f"  {f.relative_to(entry)}{link}")
    print(f"{entry} ({len(files)} files, {size / 2**20:.1f} MiB)")
    if args.dry_run:
        print("dry run: nothing deleted")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError("refusing to delete without confirmation on a non-interactive input; pass --yes")
        if input(f"delete {entry}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("kept")
            return 0
    shutil.rmtree(entry)
    print(f"deleted {entry} ({size / 2**20:.1f} MiB)")
    return 0
