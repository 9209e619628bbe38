"""One way for every command to show a wait: ``with waiting("loading smollm2-135m"): ...``.

Nothing appears for a wait shorter than ``delay`` seconds (2 by default). After that, on a terminal
a rich spinner runs on stderr with the elapsed time; elsewhere (a log, a pipe, a test) one line
``MESSAGE ...`` is written to stderr when the wait starts to be long and ``MESSAGE: done in 9.8 s``
when it ends, so stdout stays clean for the command's result.

Not a command (the leading underscore keeps it out of :mod:`scratchformers.cli`'s discovery).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

DELAY_S = 2.0


@contextlib.contextmanager
def waiting(message: str, delay: float | None = None):
    delay = DELAY_S if delay is None else delay  # read at call time (tests shorten it)
    stream = sys.stderr
    started = time.perf_counter()
    shown: dict = {}
    lock = threading.Lock()

    def show() -> None:
        with lock:
            if shown.get("finished"):
                return
            if stream.isatty():
                from rich.console import Console

                shown["status"] = Console(file=stream).status(message + " ...")
                shown["status"].start()
            else:
                print(f"{message} ...", file=stream, flush=True)
            shown["line"] = True

    timer = threading.Timer(delay, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            shown["finished"] = True
            if "status" in shown:
                shown["status"].stop()
            if shown.get("line"):
                print(f"{message}: done in {time.perf_counter() - started:.1f} s", file=stream, flush=True)
