"""Kernel choice by measurement, like ``torch.backends.cudnn.benchmark``: for each GEMM shape class
the candidates of :mod:`scratchformers.backends.kernels` are timed once on this machine and the
fastest is kept.

A shape class is (GEMM, rows bucket, out, in, bias): the GEMM is ``fwd``, ``dx`` or ``dw`` (the
forward and the two backward GEMMs of a linear layer); rows (N = B * T) go to buckets of powers of
two (1, 2, 4, ..., 1 alone: a single row is a matrix-vector product). The choice is kept

- per process (a dict lookup per call once measured), and
- on disk, in ``<cache>/gemm_choices.json`` (``$SCRATCHFORMERS_CACHE``, else
  ``$XDG_CACHE_HOME/scratchformers``, else ``~/.cache/scratchformers``), under a machine key: CPU
  model, torch version and CPU capability, the ISA variables (``ATEN_CPU_CAPABILITY``,
  ``ONEDNN_MAX_CPU_ISA``, ``MKL_ENABLE_INSTRUCTIONS``) and the thread count, because each of them
  changes which kernel wins. Writes are atomic (a temporary file renamed over the old one); an
  unreadable or corrupt file counts as empty.

Never slower than plain PyTorch: the reference (``mkl``, what ``F.linear`` runs) is always timed,
interleaved with the others (load from other processes hits all alike; the minimum of several
samples is kept), and another kernel is chosen only when it is faster by more than ``MARGIN``. A
measurement costs milliseconds per shape class (a few hundred at most, capped by ``BUDGET_S``);
a model's first step pays it, later processes on the same machine read it from disk.

``SCRATCHFORMERS_GEMM=mkl|onednn|mv|c`` (or :func:`forced`) pins one kernel wherever it applies (another
name is an error, not a silent fallback).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import json
import logging
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import torch

from scratchformers.backends import kernels
from scratchformers.errors import ConfigError
from scratchformers.utils import cache_root

MARGIN = 0.05  # another kernel must be more than 5% faster than the reference to be chosen
SAMPLES = 7  # interleaved samples per candidate (the minimum is kept)
SAMPLE_S = 5e-4  # a sample repeats the call until it lasts at least this long (small shapes)
BUDGET_S = 0.3  # stop sampling one shape class after this long (at least 3 samples each)
MAX_FLOPS = 2e9  # measure a large class on fewer rows (same shape of weight) to bound the cost
# Operands are rotated over copies filling at least this many bytes, more than a CPU's last-level
# cache: a model's weights stream from memory at every step, so timing one matrix that sits in cache
# would favour the kernel that is fastest on cached data (a 768x768 single-row product: MKL looked as
# fast as oneDNN in cache, and is 2x slower streaming from memory).
WORKING_SET_BYTES = 96 << 20
MAX_COPIES = 64
STREAMED_ROWS = 16  # up to this many rows a GEMM streams its weight rather than computing on it
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
FILE_NAME = "gemm_choices.json"

log = logging.getLogger(__name__)
_FORCED = contextvars.ContextVar("scratchformers_forced_gemm", default=os.environ.get("SCRATCHFORMERS_GEMM") or None)
_lock = threading.Lock()
_chosen: dict[tuple, str] = {}  # (threads, op, bucket, out, in, bias) -> kernel name
_measured: dict[str, dict] = {}  # class name -> {"choice", "us"} measured or loaded in this process
_loaded_for: set[str] = set()  # machine keys whose disk entries are already in _chosen
_plans: dict[tuple, tuple] = {}  # (threads, rows bucket, out, in, bias) -> the plan used in training


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(threads: int | None = None) -> str:
    isa = ",".join(f"{name}={os.environ.get(name, '')}" for name in ISA_VARIABLES)
    threads = torch.get_num_threads() if threads is None else threads
    return (f"{cpu_model()} | torch {torch.__version__} {torch.backends.cpu.get_cpu_capability()} | {isa} | "
            f"{threads} threads")


def bucket(rows: int) -> int:
    """1 -> 1, 2 -> 2, 3..4 -> 4, 5..8 -> 8, ... (the next power of two)."""
    return 1 << max(0, (rows - 1).bit_length())


def class_name(op: str, rows_bucket: int, out_features: int, in_features: int, bias: bool) -> str:
    return f"{op} {rows_bucket}x{out_features}x{in_features}{' bias' if bias else ''}"


@contextlib.contextmanager
def forced(name: str | None):
    """Within the block, every GEMM that ``name`` can compute uses it (``None``: measured choice)."""
    token = _FORCED.set(name)
    try:
        yield
    finally:
        _FORCED.reset(token)


def kernel_name(op: str, rows: int, out_features: int, in_features: int, bias: bool) -> str:
    """The kernel for this GEMM: forced, cached, loaded from disk, or measured now."""
    rows_bucket = bucket(rows)
    pinned = _FORCED.get()
    if pinned is not None:
        if pinned not in kernels.NAMES:  # a typo would otherwise silently mean "mkl"
            raise ConfigError(f"GEMM kernel {pinned!r} (SCRATCHFORMERS_GEMM or backends.choice.forced) is not one of "
                              f"{', '.join(kernels.NAMES)}; unset SCRATCHFORMERS_GEMM to use the measured choice")
        return pinned if pinned in kernels.candidates(op, rows_bucket) else kernels.REFERENCE
    key = (torch.get_num_threads(), op, rows_bucket, out_features, in_features, bias)
    name = _chosen.get(key)
    if name is None:
        with _lock:
            name = _choose(key, kernels.candidates(op, rows_bucket))
    return name


def training_plan(rows: int, out_features: int, in_features: int, bias: bool) -> tuple[str, str, str]:
    """The kernels of a training layer's three GEMMs (forward, dL/dx, dL/dW), or all ``mkl`` when
    the measured saving is smaller than what the custom autograd node costs (:func:`node_overhead`):
    a kernel a few microseconds faster is not worth 50 us of Python per step. A forced kernel
    (:func:`forced`) is used as forced. Decided once per shape class and process."""
    ops = (("fwd", bias), ("dx", False), ("dw", False))
    if _FORCED.get() is not None:
        return tuple(kernel_name(op, rows, out_features, in_features, b) for op, b in ops)
    key = (torch.get_num_threads(), bucket(rows), out_features, in_features, bias)
    plan = _plans.get(key)
    if plan is None:
        plan = tuple(kernel_name(op, rows, out_features, in_features, b) for op, b in ops)
        saving = 0.0
        for (op, has_bias), name in zip(ops, plan):
            us = _measured.get(class_name(op, bucket(rows), out_features, in_features, has_bias), {}).get("us", {})
            if name in us and kernels.REFERENCE in us:
                saving += (us[kernels.REFERENCE] - us[name]) * 1e-6
        if plan != (kernels.REFERENCE,) * 3 and saving <= node_overhead():
            plan = (kernels.REFERENCE,) * 3
        _plans[key] = plan
    return plan


class _ProbeLinear(torch.autograd.Function):
    """A linear layer as a Python autograd node, the same GEMMs as F.linear: its extra time is the
    node's own cost."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return torch.nn.functional.linear(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g.mm(w), g.t().mm(x), g.sum(0)


@functools.cache
def node_overhead() -> float:
    """Seconds a custom autograd Function costs over ``F.linear``'s own node per forward+backward,
    measured once per process on a layer small enough for the GEMMs not to count (about 47 us on
    a 2-core AMD EPYC)."""
    g = torch.Generator().manual_seed(0)  # never the global generator: a seeded run stays reproducible
    x = torch.randn(8, 16, generator=g, requires_grad=True)
    w, b = torch.randn(16, 16, generator=g, requires_grad=True), torch.randn(16, generator=g, requires_grad=True)
    calls = {
        "plain": lambda: torch.nn.functional.linear(x, w, b).sum().backward(),
        "node": lambda: _ProbeLinear.apply(x, w, b).sum().backward(),
    }
    best = interleaved_min(calls, samples=5, repeat=40)
    return max(0.0, best["node"] - best["plain"])


def _choose(key: tuple, names: list[str]) -> str:
    threads, op, rows_bucket, out_features, in_features, bias = key
    machine = machine_key(threads)
    if machine not in _loaded_for:
        _load(machine, threads)
    if key in _chosen:
        return _chosen[key]
    times = measure(op, rows_bucket, out_features, in_features, bias, names)
    name = pick(times)
    _chosen[key] = name
    entry = {"choice": name, "us": {k: round(v * 1e6, 2) for k, v in times.items()}}
    _measured[class_name(*key[1:])] = entry
    _save(machine, class_name(*key[1:]), entry)
    return name


def pick(times: dict[str, float]) -> str:
    """The fastest candidate, unless it beats the reference by no more than ``MARGIN``."""
    best = min(times, key=times.get)
    if best != kernels.REFERENCE and times[best] > (1 - MARGIN) * times[kernels.REFERENCE]:
        return kernels.REFERENCE
    return best


def _example(op: str, rows: int, out_features: int, in_features: int, bias: bool) -> tuple:
    g = torch.Generator().manual_seed(0)
    if op == "fwd":
        b = torch.randn(out_features, generator=g) if bias else None
        return torch.randn(rows, in_features, generator=g), torch.randn(out_features, in_features, generator=g), b
    grad = torch.randn(rows, out_features, generator=g)
    if op == "dx":
        return grad, torch.randn(out_features, in_features, generator=g)
    return grad, torch.randn(rows, in_features, generator=g)


def measure(op: str, rows: int, out_features: int, in_features: int, bias: bool, names: list[str]) -> dict[str, float]:
    """Seconds per call of each candidate on random float32 inputs of this shape (the minimum of
    interleaved samples), rotating over copies of the operands larger than the CPU's cache. A class
    above ``MAX_FLOPS`` per call is timed on fewer rows."""
    while rows > 64 and 2 * rows * out_features * in_features > MAX_FLOPS:
        rows //= 2
    example = _example(op, rows, out_features, in_features, bias)
    size = sum(t.numel() * t.element_size() for t in example if t is not None)
    # Few rows: bound by streaming the operands, so rotate over copies (ceil: fill the working set).
    # Many rows: compute-bound and each call long, one copy keeps the measurement within its budget.
    copies = max(1, min(MAX_COPIES, -(-WORKING_SET_BYTES // size))) if rows <= STREAMED_ROWS else 1
    operands = [example] + [tuple(t.clone() if t is not None else None for t in example) for _ in range(copies - 1)]
    with torch.inference_mode():
        kernels_by_name = {name: kernels.KERNELS[op][name] for name in names}
        for kernel in kernels_by_name.values():  # warm-up: first-call set-up (oneDNN primitive cache, allocator)
            kernel(*example)
        start = time.perf_counter()
        for args in operands:
            kernels_by_name[kernels.REFERENCE](*args)
        once = max((time.perf_counter() - start) / copies, 1e-7)
        repeat = max(copies, min(1000, int(SAMPLE_S / once)))  # each sample streams every copy
        calls = {name: _rotating(kernel, operands) for name, kernel in kernels_by_name.items()}
        return interleaved_min(calls, SAMPLES, repeat, BUDGET_S)


def _rotating(kernel, operands: list):
    """A call of ``kernel`` on the next copy of the operands at each call."""
    copies = itertools.cycle(operands)
    return lambda: kernel(*next(copies))


def interleaved_min(calls: dict, samples: int, repeat: int, budget_s: float = float("inf")) -> dict[str, float]:
    """Seconds per call of each function: they take turns (load from other processes hits all
    alike), ``repeat`` calls a sample, the minimum over ``samples`` samples (or over at least three
    once ``budget_s`` is spent)."""
    best = dict.fromkeys(calls, float("inf"))
    began = time.perf_counter()
    for sample in range(samples):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(repeat):
                call()
            best[name] = min(best[name], (time.perf_counter() - start) / repeat)
        if sample >= 2 and time.perf_counter() - began > budget_s:
            break
    return best


def measured() -> dict[str, dict]:
    """Shape class -> {"choice", "us": {kernel: microseconds}} chosen in this process (or loaded)."""
    return dict(_measured)


def clear(memory_only: bool = True) -> None:
    """Forget the choices of this process (and, with ``memory_only=False``, the disk cache file)."""
    with _lock:
        _chosen.clear()
        _measured.clear()
        _plans.clear()
        _loaded_for.clear()
        if not memory_only:
            (cache_root() / FILE_NAME).unlink(missing_ok=True)


def _read() -> dict:
    try:
        data = json.loads((cache_root() / FILE_NAME).read_text())
        return data if isinstance(data, dict) and isinstance(data.get("machines"), dict) else {"machines": {}}
    except (OSError, ValueError):  # missing, unreadable or corrupt: measure again
        return {"machines": {}}


def _load(machine: str, threads: int) -> None:
    _loaded_for.add(machine)
    entries = _read()["machines"].get(machine)
    if not isinstance(entries, dict):
        return
    for name, entry in entries.items():
        try:
            op, shape, *rest = name.split(" ")
            rows_bucket, out_features, in_features = (int(v) for v in shape.split("x"))
            choice = entry["choice"]
        except (ValueError, TypeError, KeyError):
            continue  # a malformed entry is measured again
        if choice in kernels.candidates(op, rows_bucket):
            _chosen[(threads, op, rows_bucket, out_features, in_features, rest == ["bias"])] = choice
            _measured[name] = entry


def _save(machine: str, name: str, entry: dict) -> None:
    """Merge one entry into the file: read, update, write a temporary file, rename it over."""
    folder = cache_root()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = _read()
        data["format"] = 1
        data["machines"].setdefault(machine, {})[name] = entry
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gemm_choices.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, folder / FILE_NAME)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as error:  # read-only home, full disk: the choice still holds for this process
        log.debug("scratchformers: could not save the GEMM choice (%s)", error)
