"""What this machine can do at best, measured in the running process (and so under its ISA variables):
float32 GEMM GFLOPS of MKL (``F.linear``) and oneDNN, memory bandwidth, the CPU flags.

These are the limits the bench rows are measured against: a training step's model FLOPs per second
as a fraction of the GEMM peak, a decode step's weight bytes per second as a fraction of bandwidth.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from scratchformers.backends import kernels, native

ISA_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
FLAGS_OF_INTEREST = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                     "avx512_bf16", "amx_bf16", "amx_tile")
GEMM_SHAPE = (4096, 384, 1536)  # rows x in -> out: a BERT 6L/384 feed-forward GEMM at batch 32 x 128


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return [f for f in FLAGS_OF_INTEREST if f in present]
    except OSError:
        pass
    return []


def _best_seconds(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_gflops(repeats: int = 10) -> dict[str, float]:
    """GFLOPS of one float32 GEMM (``GEMM_SHAPE``) on MKL (F.linear) and on oneDNN (best of repeats)."""
    rows, d_in, d_out = GEMM_SHAPE
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(rows, d_in, generator=g), torch.randn(d_out, d_in, generator=g)
    flops = 2 * rows * d_in * d_out
    out = {}
    with torch.inference_mode():
        out["mkl"] = flops / _best_seconds(lambda: F.linear(x, w), repeats) / 1e9
        if kernels.ONEDNN_LINEAR:
            out["onednn"] = flops / _best_seconds(lambda: kernels.onednn_gemm(x, w, None), repeats) / 1e9
    return out


def bandwidth_gbs(megabytes: int = 256, repeats: int = 5) -> dict[str, float]:
    """GB/s reading a large float32 tensor, the best of two readers: a sum, and a matrix-vector
    product with the C kernel of scratchformers.backends.native (where it is built: how a decode
    step streams its weights, and it reads faster than torch's sum on some CPUs); and copying one
    (read + write)."""
    n = megabytes * 2**20 // 4
    a, b = torch.ones(n), torch.empty(n)
    nbytes = a.numel() * 4
    with torch.inference_mode():
        read_sum = nbytes / _best_seconds(lambda: a.sum(), repeats) / 1e9
        read = read_sum
        if native.available():
            rows = a.view(-1, 1024)  # (n / 1024, 1024) weights, one input row
            x = torch.ones(1, 1024)
            read = max(read, nbytes / _best_seconds(lambda: native.gemv(x, rows, None), repeats) / 1e9)
        copy = 2 * nbytes / _best_seconds(lambda: b.copy_(a), repeats) / 1e9
    return {"read": read, "read_sum": read_sum, "copy": copy}


def probe(quick: bool = False) -> dict:
    """Everything above for the running process, plus torch's detected CPU capability."""
    gemm = gemm_gflops(3 if quick else 10)
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "isa_env": {k: os.environ.get(k, "") for k in ISA_ENV},
        "threads": torch.get_num_threads(),
        "flags": cpu_flags(),
        "gemm_gflops": gemm,
        "gemm_peak_gflops": max(gemm.values()),
        # many repeats: the bandwidth other tenants of a shared host leave free varies over seconds
        "bandwidth_gbs": bandwidth_gbs(64 if quick else 256, 2 if quick else 25),
    }
