"""How many CPU threads torch uses: ``sf.set_threads(n)`` and the default every command applies.

The rule (docs/threads.md has the measurement behind it)::

    threads = max(1, min(cores, cores - round(load)))

``cores`` is the number of CPUs this process may run on (its affinity mask, which containers and
``taskset`` narrow), ``load`` the 1-minute load average: the number of runnable processes the rest
of the machine keeps busy. torch's own default is one thread per core; on a machine where other
jobs hold the cores, its threads wait on each other at every parallel region (a barrier), so
two threads on a half-busy 2-core machine run slower than one. The rule gives the idle cores only.
An ``OMP_NUM_THREADS`` set by the user wins over the rule (it is an explicit choice).
"""

from __future__ import annotations

import os

from scratchformers.errors import ConfigError


def available_cores() -> int:
    """CPUs this process may run on (affinity mask where the OS has one, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def default_threads(cores: int | None = None, load: float | None = None) -> int:
    """``max(1, min(cores, cores - round(load)))``; both measured when not given (no load: all cores)."""
    cores = available_cores() if cores is None else cores
    load = load_average() if load is None else load
    if load is None:
        return cores
    return max(1, min(cores, cores - round(load)))


def check_threads(n: object, option: str = "threads") -> int:
    """``n`` as a thread count >= 1, or a one-line error naming the option."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"{option} must be a whole number >= 1, got {n!r}; e.g. 1 on a busy machine, "
                          f"{available_cores()} (the cores here) on an idle one")
    return n


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads to ``n`` (None: the rule above, unless OMP_NUM_THREADS is set).

    Returns the count in effect. Inter-op threads are left alone (torch allows setting them once).
    """
    import torch  # the bottom layer stays torch-free for the CLI's quick --help

    if n is None:
        from_env = os.environ.get("OMP_NUM_THREADS", "").strip()
        n = int(from_env) if from_env.isdigit() and int(from_env) > 0 else default_threads()
    torch.set_num_threads(check_threads(n))
    return torch.get_num_threads()
