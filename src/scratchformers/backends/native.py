"""A matrix-vector kernel in C, compiled once per machine: the single-row forward candidate ``c``.

A decode step at batch 1 multiplies one row by every weight matrix of the model: a matrix-vector
product, bound by how fast the weights stream from memory. PyTorch's eager kernels leave a part of
that bandwidth unused on a 2-core CPU (measured on an AMD EPYC: MKL's sgemv 13 GB/s, oneDNN's GEMM
25-29, a plain sum over the same bytes 33). The kernel below is what a bandwidth-bound product
needs and nothing else: rows split over the threads, each row one sequential stream, vector
accumulators of the width the instruction set allows::

    y[o] = bias[o] + sum_i W[o, i] * x[i]          W (out, in) row-major, x (in,), y (out,)

It is built with the system C compiler the first time it is needed on a machine (a fraction of a
second), for the instruction set PyTorch itself runs with (``torch.backends.cpu.get_cpu_capability()``,
so ``ATEN_CPU_CAPABILITY=avx2`` builds an AVX2 kernel), and kept in ``<cache>/kernels/`` under a
name that hashes the source, the flags and the compiler: later processes load it in milliseconds.
It links OpenMP by soname, so it runs on the OpenMP runtime PyTorch already loaded (one thread pool,
the thread count of ``torch.get_num_threads()``). No compiler, a failed build or a result that
disagrees with ``F.linear`` on a check: the kernel is unavailable and the measured choice of
:mod:`scratchformers.backends.choice` never offers it. Where it is offered it must still beat
PyTorch's own kernel by the choice's margin to be used.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile

import torch
import torch.nn.functional as F

from scratchformers.utils import cache_root

log = logging.getLogger(__name__)

SOURCE = r"""
#include <string.h>
#include <omp.h>
typedef float vec __attribute__((vector_size(SF_VECTOR_BYTES)));
enum { LANES = SF_VECTOR_BYTES / sizeof(float) };

static inline vec load(const float *p) { vec v; memcpy(&v, p, sizeof v); return v; }

/* y[o] = (bias ? bias[o] : 0) + W[o, :] . x  for o in [0, n_out); W row-major (n_out, n_in). */
void sf_gemv_f32(const float *w, const float *x, const float *bias, float *y,
                 long n_out, long n_in, int threads) {
    const long step = 2 * LANES, body = n_in - n_in % step;
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (long o = 0; o < n_out; o++) {
        const float *row = w + o * n_in;
        vec a = {0}, b = {0};  /* two accumulators: the adds of one do not wait on the other */
        for (long i = 0; i < body; i += step) {
            a += load(row + i) * load(x + i);
            b += load(row + i + LANES) * load(x + i + LANES);
        }
        a += b;
        float sum = 0.f;
        for (int k = 0; k < LANES; k++) sum += a[k];
        for (long i = body; i < n_in; i++) sum += row[i] * x[i];
        y[o] = bias ? sum + bias[o] : sum;
    }
}
"""

# torch's CPU capability -> (vector bytes, compiler flags). The kernel follows the capability torch
# runs with, so an emulated instruction set (ATEN_CPU_CAPABILITY) is emulated here too.
_ISA = {
    "AVX512": (64, ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mfma", "-mavx2"]),
    "AVX2": (32, ["-mavx2", "-mfma"]),
}
_DEFAULT_ISA = (16, [])  # SSE2 on x86-64, NEON-width vectors elsewhere


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def _build_flags() -> tuple[int, list[str]]:
    capability = torch.backends.cpu.get_cpu_capability()
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return _DEFAULT_ISA
    return _ISA.get(capability, _DEFAULT_ISA)


def _build(compiler: str, vector_bytes: int, isa_flags: list[str]) -> str:
    """Compile the library into the cache (atomically) unless it is there; return its path."""
    flags = ["-O3", "-fPIC", "-shared", "-fopenmp", f"-DSF_VECTOR_BYTES={vector_bytes}", *isa_flags]
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    digest = hashlib.sha256("\0".join([SOURCE, compiler, version, *flags]).encode()).hexdigest()[:16]
    folder = cache_root() / "kernels"
    target = folder / f"gemv-{digest}.so"
    if target.exists() and _trusted(target):
        return str(target)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        source = os.path.join(work, "gemv.c")
        with open(source, "w") as f:
            f.write(SOURCE)
        built = os.path.join(work, "gemv.so")
        subprocess.run([compiler, *flags, source, "-o", built], check=True, capture_output=True, timeout=120)
        os.replace(built, target)  # atomic: a concurrent process sees the whole file or none
    return str(target)


def _trusted(path) -> bool:
    """Load only a library this user built: owned by us, writable by nobody else (a shared cache
    folder must not let another account plant code we would run)."""
    info = os.stat(path)
    return (not hasattr(os, "getuid") or info.st_uid == os.getuid()) and not info.st_mode & 0o022


@functools.cache
def _library():
    """The loaded kernel, or None where it cannot be built or does not agree with F.linear."""
    compiler = _compiler()
    if compiler is None or platform.system() == "Windows":  # the build line is for gcc/clang
        return None
    try:
        vector_bytes, isa_flags = _build_flags()
        lib = ctypes.CDLL(_build(compiler, vector_bytes, isa_flags))
        fn = lib.sf_gemv_f32
        fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_long, ctypes.c_long, ctypes.c_int]
        fn.restype = None
        g = torch.Generator().manual_seed(0)
        for out_f, in_f in ((37, 75), (64, 768)):  # a ragged tail and a vector-aligned row
            x, w, b = torch.randn(1, in_f, generator=g), torch.randn(out_f, in_f, generator=g), torch.randn(out_f, generator=g)
            if not torch.allclose(_call(fn, x, w, b), F.linear(x, w, b), rtol=1e-4, atol=1e-4):
                raise RuntimeError("the compiled matrix-vector kernel disagrees with F.linear")
        return fn
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        log.info("scratchformers: no C matrix-vector kernel here (%s); the other kernels serve", error)
        return None


def _call(fn, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    y = torch.empty(1, w.shape[0], dtype=torch.float32)  # (1, out)
    fn(w.data_ptr(), x.data_ptr(), b.data_ptr() if b is not None else None, y.data_ptr(),
       w.shape[0], w.shape[1], torch.get_num_threads())
    return y


def available() -> bool:
    """True when the kernel is built (or buildable now) and checked on this machine."""
    return _library() is not None


def gemv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x (1, in) @ w (out, in)^T + b -> (1, out): float32, contiguous CPU tensors (the caller's
    fast-path checks guarantee it; the pointers are read raw)."""
    x = x.contiguous()
    if b is not None and (not b.is_contiguous() or b.dtype != torch.float32):
        b = b.contiguous().float()
    return _call(_library(), x, w, b)
