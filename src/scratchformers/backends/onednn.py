"""oneDNN float32 GEMMs for ``nn.Linear``: :class:`OneDNNLinear` and :func:`linear`.

y = x W^T + b, exactly ``nn.Linear`` (same parameters, names, init, state dict; it *is* an
``nn.Linear``), with one difference in how the three GEMMs of a float32 layer on an x86 CPU are
computed (forward y, backward dL/dx and dL/dW): PyTorch sends them to MKL, we send them to oneDNN
(``torch.ops.mkldnn._linear_pointwise``, the kernel ``torch.compile`` itself uses for frozen CPU
linears). On CPUs where MKL does not use its best code path (measured on this project's AMD EPYC
machine: 221 vs 490 GFLOPS for a 4096x384x1536 GEMM, 27 vs 12.5 ms for the 49 matmuls of a GPT-2
decode step) that is the single largest speed-up available; on CPUs where MKL is at its best the
two are close. Results agree with ``F.linear`` to float32 rounding (tested).

``F.linear`` is used instead whenever the fast path does not apply: other devices or dtypes, CPU
autocast (which casts to bf16 itself), an active ``TorchFunctionMode`` (the doctor watches
``linear`` calls), ``torch.backends.mkldnn.flags(enabled=False)``, or a build without the op.
Under ``torch.compile`` the same GEMMs run as custom ops that inductor leaves opaque.

Single-row inference inside :func:`scratchformers.backends.single_row_kernels` goes through the
compiled matrix-vector kernels of :mod:`scratchformers.backends.gemv` instead.
"""

from __future__ import annotations

import platform

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.backends import gemv


def _probe() -> bool:
    """The op exists here and computes a linear layer (checked once, at import, on a tiny example)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        return False
    try:
        x, w, b = torch.randn(3, 5), torch.randn(4, 5), torch.randn(4)
        out = torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
        return bool(torch.allclose(out, F.linear(x, w, b), atol=1e-5))
    except (AttributeError, RuntimeError):
        return False


ONEDNN_LINEAR = _probe()


def _gemm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x (N, in) @ w (out, in)^T + b with oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")


def _rows(t: torch.Tensor, width: int) -> torch.Tensor:
    """(..., width) -> contiguous (N, width)."""
    t2 = t.reshape(-1, width)
    return t2 if t2.is_contiguous() else t2.contiguous()


def _forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return _gemm(_rows(x, x.shape[-1]), weight, bias).view(*x.shape[:-1], weight.shape[0])  # (N, out) -> (..., out)


def _backward(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, need_x: bool, need_w: bool):
    """dL/dx = g W (a linear layer with weight W^T) and dL/dW = g^T x: (out, N) @ (N, in)."""
    g2 = _rows(grad_out, weight.shape[0])
    grad_x = _gemm(g2, weight.t(), None).view(*grad_out.shape[:-1], weight.shape[1]) if need_x else None
    grad_w = _gemm(g2.t(), _rows(x, weight.shape[1]).t(), None) if need_w else None
    return grad_x, grad_w


class _OneDNNLinear(torch.autograd.Function):
    """Eager training. The custom op below would also work here, but costs ~25 us more per
    forward+backward (measured on char-GPT-sized layers); inference skips autograd altogether."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _forward(x, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x, grad_w = _backward(grad_out, x, weight, ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        grad_b = grad_out.reshape(-1, weight.shape[0]).sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


# Under torch.compile the same GEMMs are opaque custom ops (an autograd.Function calling a private
# op would not trace); inductor fuses everything around them.
@torch.library.custom_op("scratchformers::onednn_linear", mutates_args=())
def _linear_op(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return _forward(x, weight, bias)


@_linear_op.register_fake
def _(x, weight, bias):
    return x.new_empty(*x.shape[:-1], weight.shape[0])


@torch.library.custom_op("scratchformers::onednn_linear_backward", mutates_args=())
def _linear_backward_op(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return _backward(grad_out, x, weight, True, True)


@_linear_backward_op.register_fake
def _(grad_out, x, weight):
    return x.new_empty(x.shape), weight.new_empty(weight.shape)


def _op_setup_context(ctx, inputs, output):
    x, weight, bias = inputs
    ctx.save_for_backward(x, weight)
    ctx.has_bias = bias is not None


def _op_backward(ctx, grad_out):
    x, weight = ctx.saved_tensors
    grad_x, grad_w = _linear_backward_op(grad_out, x, weight)
    grad_b = grad_out.reshape(-1, weight.shape[0]).sum(0) if ctx.has_bias else None
    return grad_x, grad_w, grad_b


_linear_op.register_autograd(_op_backward, setup_context=_op_setup_context)


def _fast_path(x: torch.Tensor, weight: torch.Tensor) -> bool:
    if not (
        ONEDNN_LINEAR
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and weight.is_contiguous()
        and x.dim() >= 1
        and x.numel() > 0
        and torch.backends.mkldnn.enabled
        and not torch.is_autocast_enabled("cpu")
    ):
        return False
    return torch.compiler.is_compiling() or not torch._C._is_torch_function_mode_enabled()


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)``, on oneDNN for float32 CPU tensors (see the module docstring)."""
    if not _fast_path(x, weight):
        return F.linear(x, weight, bias)
    if torch.compiler.is_compiling():
        return _linear_op(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)):
        return _OneDNNLinear.apply(x, weight, bias)
    if (out := gemv.single_row(x, weight, bias)) is not None:
        return out
    return _forward(x, weight, bias)  # inference: no autograd node needed


class OneDNNLinear(nn.Linear):
    """``nn.Linear`` (y = x W^T + b) with the oneDNN float32 CPU path of :func:`linear`. It adds no
    state: :func:`scratchformers.backends.optimize` turns an ``nn.Linear`` into one in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
