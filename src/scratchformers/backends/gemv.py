"""Compiled matrix-vector kernels for single-row float32 CPU inference (a decode step at batch 1).

A single row at inference is a matrix-vector product, bound by how fast the weights stream from
memory. The default path already has a kernel for it, built once per machine
(:mod:`scratchformers.backends.native`, chosen by measurement). Inside ``single_row_kernels()``
(``generate(..., compile_kernels=True)``) such rows go instead through a row-wise dot-product
kernel that inductor generates for each weight shape (``(W * x).sum(-1) + b``, the row length a
compile-time constant). Building these costs seconds once per process (about 3 s for GPT-2's five
shapes with inductor's disk cache warm, about 11 s the first time on a machine), which is why it is
opt-in; on the machines measured it streams at about the speed of the default C kernel. Weights under ``GEMV_MIN_WEIGHT`` elements keep the oneDNN path (they sit in cache, where
call overhead matters more), and so does everything if inductor cannot compile here (no C++
compiler). Only layers turned into :class:`~scratchformers.backends.onednn.OneDNNLinear` (by
:func:`scratchformers.backends.optimize`) consult it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging

import torch
import torch.nn.functional as F

GEMV_MIN_WEIGHT = 1 << 16  # elements (256 KB of float32): below this the weights stay in cache

log = logging.getLogger(__name__)
_SINGLE_ROW_KERNELS = contextvars.ContextVar("scratchformers_single_row_kernels", default=False)


@contextlib.contextmanager
def single_row_kernels(enabled: bool = True):
    """Within this block, float32 CPU inference on a single row uses the compiled matrix-vector
    kernels (see the module docstring). Scoped to the block and to the current thread/task."""
    token = _SINGLE_ROW_KERNELS.set(enabled)
    try:
        yield
    finally:
        _SINGLE_ROW_KERNELS.reset(token)


def _row_dot(x: torch.Tensor, weight: torch.Tensor, *bias: torch.Tensor) -> torch.Tensor:
    """x (in,) . each row of weight (out, in) [+ bias] -> (out,); inductor turns it into one
    vectorised reduction kernel, parallel over the rows, with no (out, in) temporary."""
    y = (weight * x).sum(-1)
    return y + bias[0] if bias else y


@functools.cache
def gemv_kernel(out_features: int, in_features: int, has_bias: bool):
    """The compiled matrix-vector kernel for one weight shape, built on first use (about 0.5 s per
    shape, less from inductor's disk cache), or ``None`` where it cannot be compiled (no C++
    compiler) or disagrees with F.linear. Shapes are static: a kernel that knows its row length
    streams faster than a shape-generic one (3.3 vs 4.6 ms for GPT-2's 50257x768 head), and calling
    it directly skips torch.compile's guards (5 us a call instead of 17)."""
    try:
        import torch._inductor
        from torch.fx.experimental.proxy_tensor import make_fx

        g = torch.Generator().manual_seed(0)
        example = [torch.randn(in_features, generator=g), torch.randn(out_features, in_features, generator=g)]
        if has_bias:
            example.append(torch.randn(out_features, generator=g))
        kernel = torch._inductor.compile(make_fx(_row_dot)(*example), example)
        if not torch.allclose(kernel(*example), F.linear(*example), rtol=1e-4, atol=1e-4):
            raise RuntimeError("compiled matrix-vector kernel disagrees with F.linear")
        return kernel
    except Exception as error:  # no compiler, unsupported platform: the oneDNN GEMM serves instead
        log.warning("scratchformers: no single-row kernel for %dx%d, using the oneDNN GEMM (%s)", out_features, in_features, error)
        return None


def single_row(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor | None:
    """(..., in) with one row -> (..., out) through the compiled kernel, or None where it does not
    apply (not enabled, small weight, no kernel). The kernel has no guards: shapes and layout are
    checked here."""
    if not _SINGLE_ROW_KERNELS.get() or x.numel() != x.shape[-1] or weight.numel() < GEMV_MIN_WEIGHT or (
        bias is not None and (not bias.is_contiguous() or bias.dtype != weight.dtype)
    ):
        return None
    kernel = gemv_kernel(weight.shape[0], weight.shape[1], bias is not None)
    if kernel is None:
        return None
    args = (x.reshape(-1).contiguous(), weight) + ((bias,) if bias is not None else ())  # (in,), (out, in), (out,)
    return kernel(*args).view(*x.shape[:-1], weight.shape[0])  # (out,) -> (..., out)
