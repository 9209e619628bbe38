"""The candidate kernels for the three float32 GEMMs of a linear layer, one name per library.

    fwd:  y  = x W^T + b     x (N, in),  W (out, in)  -> (N, out)
    dx:   gx = g W           g (N, out), W (out, in)  -> (N, in)
    dw:   gW = g^T x         g (N, out), x (N, in)    -> (out, in)

- ``mkl``: what PyTorch itself runs (``F.linear`` forward, ``mm`` in its backward), MKL's sgemm on
  x86. Always available: it is the reference every other candidate must beat.
- ``onednn``: ``torch.ops.mkldnn._linear_pointwise``, oneDNN's GEMM (the kernel ``torch.compile``
  uses for frozen CPU linears). On some CPUs MKL leaves its best code path unused (measured on an
  AMD EPYC with AVX-512: 221 vs 490 GFLOPS for 4096x384x1536); elsewhere the two are close.
- ``mv`` (forward, a single row): ``torch.addmv``, MKL's matrix-vector product, without the GEMM
  set-up of a one-row ``addmm``.
- ``c`` (forward, a single row): the matrix-vector kernel of :mod:`scratchformers.backends.native`,
  compiled once per machine where a C compiler exists.

Which one runs for a given shape is measured, not assumed: :mod:`scratchformers.backends.choice`.
"""

from __future__ import annotations

import platform

import torch
import torch.nn.functional as F

from scratchformers.backends import native


def _probe() -> bool:
    """The oneDNN op exists here and computes a linear layer (checked once, at import, on a tiny example)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        return False
    try:
        x, w, b = torch.randn(3, 5), torch.randn(4, 5), torch.randn(4)
        out = torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
        return bool(torch.allclose(out, F.linear(x, w, b), atol=1e-5))
    except (AttributeError, RuntimeError):
        return False


ONEDNN_LINEAR = _probe()
REFERENCE = "mkl"  # plain PyTorch: the candidate a measured choice may never be slower than


def onednn_gemm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x (N, in) @ w (out, in)^T + b with oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")


def _mv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    v = x.reshape(-1)  # (in,)
    out = torch.addmv(b, w, v) if b is not None else torch.mv(w, v)
    return out.unsqueeze(0)  # (1, out)


FORWARD = {"mkl": F.linear, "onednn": onednn_gemm, "mv": _mv, "c": native.gemv}
GRAD_INPUT = {"mkl": lambda g, w: g.mm(w), "onednn": lambda g, w: onednn_gemm(g, w.t(), None)}
GRAD_WEIGHT = {"mkl": lambda g, x: g.t().mm(x), "onednn": lambda g, x: onednn_gemm(g.t(), x.t(), None)}
KERNELS = {"fwd": FORWARD, "dx": GRAD_INPUT, "dw": GRAD_WEIGHT}
NAMES = tuple(dict.fromkeys(name for table in KERNELS.values() for name in table))  # mkl, onednn, mv, c


def candidates(op: str, rows: int) -> list[str]:
    """The kernels worth timing for ``op`` ("fwd", "dx", "dw") at ``rows`` rows, reference first."""
    names = ["mkl"]
    if ONEDNN_LINEAR:
        names.append("onednn")
    if op == "fwd" and rows == 1:
        names.append("mv")
        if native.available():
            names.append("c")
    return names
