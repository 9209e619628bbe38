"""One run per run directory: ``RUN_DIR/.lock``, held with ``flock`` while a run writes there.

Two runs sharing a folder overwrite each other's token files, checkpoints and ``metrics.jsonl``.
The lock is a kernel ``flock`` on ``RUN_DIR/.lock``: the kernel drops it when its process ends, by
any means (``kill -9``, a crash, a reboot), so a stale lock never blocks anyone. The file stays
behind holding the pid, host and start time of its last owner; a new run simply locks it again
and writes its own (nothing to delete by hand). A second run while the first is alive fails at
once with :class:`RunLockedError` naming the owner. The lock is re-entrant inside one process
(the CLI holds it from the data preparation on; :meth:`Trainer.fit` takes it again).

Platforms without ``fcntl`` (Windows) run without the lock.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from scratchformers.errors import ConfigError, RunLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".lock"
_held: dict[Path, int] = {}  # run dirs this process holds -> nesting depth


def _open_run_dir(run_dir: Path) -> int:
    """Create the run directory and open its lock file, turning OS errors into one-line messages."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run directory {run_dir} is a file, not a folder; choose another --run_dir")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        return os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ConfigError(f"cannot use run directory {run_dir}: {err.strerror or err}; "
                          "choose a writable --run_dir") from None


def _owner(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {info['pid']} on {info['host']} since {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold ``run_dir``'s lock for the ``with`` block; :class:`RunLockedError` if another run holds it."""
    run_dir = Path(run_dir).resolve()
    if run_dir in _held or fcntl is None:
        _held[run_dir] = _held.get(run_dir, 0) + 1
        try:
            yield run_dir / LOCK_NAME
        finally:
            _held[run_dir] -= 1
            if not _held[run_dir]:
                del _held[run_dir]
        return
    fd = _open_run_dir(run_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(f"run directory {run_dir} is in use by {_owner(fd)}; wait for that run to end "
                                 "or choose another --run_dir") from None
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        _held[run_dir] = 1
        try:
            yield run_dir / LOCK_NAME
        finally:
            del _held[run_dir]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_on_main_rank(run_dir: str | Path) -> AbstractContextManager:
    """:func:`run_lock` on rank 0 only: under torchrun (which sets ``RANK``) every rank shares RUN_DIR."""
    return run_lock(run_dir) if os.environ.get("RANK", "0") == "0" else nullcontext()
