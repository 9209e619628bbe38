"""Measured float32 GEMMs for ``nn.Linear``: :class:`OneDNNLinear` and :func:`linear`.

y = x W^T + b, exactly ``nn.Linear`` (same parameters, names, init, state dict; it *is* an
``nn.Linear``), with one difference: each of the three GEMMs of a float32 layer on an x86 CPU
(forward y, backward dL/dx and dL/dW) runs on the kernel measured fastest for its shape class on
this machine (:mod:`scratchformers.backends.choice`): MKL as PyTorch does, oneDNN
(``torch.ops.mkldnn._linear_pointwise``), or for a single row MKL's matrix-vector product or the C
kernel of :mod:`scratchformers.backends.native` (compiled once per machine). On an
AMD EPYC with AVX-512, oneDNN wins by 2x (MKL leaves its best code path unused there); under AVX2
the two are close and MKL often wins, so the choice is measured, never assumed. Where MKL wins all
three GEMMs in training, ``F.linear`` runs with PyTorch's own autograd node. Results agree with
``F.linear`` to float32 rounding (tested).

``F.linear`` is used instead whenever the fast path does not apply: other devices or dtypes, CPU
autocast (which casts to bf16 itself), an active ``TorchFunctionMode`` (the doctor watches
``linear`` calls), ``torch.backends.mkldnn.flags(enabled=False)``, or sizes that do not fit (so that
``F.linear`` names the mistake). Without oneDNN in the build the choice runs among the other kernels.
Under ``torch.compile`` the GEMMs run as oneDNN custom ops that inductor leaves opaque.

Single-row inference inside :func:`scratchformers.backends.single_row_kernels` goes through the
compiled matrix-vector kernels of :mod:`scratchformers.backends.gemv` instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.backends import choice, gemv
from scratchformers.backends.kernels import FORWARD, GRAD_INPUT, GRAD_WEIGHT, ONEDNN_LINEAR


def _rows(t: torch.Tensor, width: int) -> torch.Tensor:
    """(..., width) -> contiguous (N, width)."""
    t2 = t.reshape(-1, width)
    return t2 if t2.is_contiguous() else t2.contiguous()


def _forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernel: str = "onednn") -> torch.Tensor:
    x2 = _rows(x, x.shape[-1])
    return FORWARD[kernel](x2, weight, bias).view(*x.shape[:-1], weight.shape[0])  # (N, out) -> (..., out)


def _backward(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, need_x: bool, need_w: bool,
              kernels: tuple[str, str] = ("onednn", "onednn")):
    """dL/dx = g W and dL/dW = g^T x: (out, N) @ (N, in), each on its chosen kernel."""
    g2 = _rows(grad_out, weight.shape[0])
    grad_x = GRAD_INPUT[kernels[0]](g2, weight).view(*grad_out.shape[:-1], weight.shape[1]) if need_x else None
    grad_w = GRAD_WEIGHT[kernels[1]](g2, _rows(x, weight.shape[1])) if need_w else None
    return grad_x, grad_w


class _OneDNNLinear(torch.autograd.Function):
    """Eager training with measured kernels: ``plan`` names the kernel of each GEMM (fwd, dx, dw).
    The custom op below would also work here, but costs ~25 us more per forward+backward
    (measured on char-GPT-sized layers); inference skips autograd altogether."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, plan: tuple) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.plan = bias is not None, plan
        return _forward(x, weight, bias, plan[0])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x, grad_w = _backward(grad_out, x, weight, ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.plan[1:])
        grad_b = grad_out.reshape(-1, weight.shape[0]).sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


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


def _fast_path(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    if not (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and weight.is_contiguous()
        and x.dim() >= 1
        and x.numel() > 0
        # the raw kernels (C, compiled) read the sizes of the weight: a mismatch must reach
        # F.linear, which names it
        and x.shape[-1] == weight.shape[1]
        and (bias is None or bias.shape == weight.shape[:1])
        and torch.backends.mkldnn.enabled
        and not torch.is_autocast_enabled("cpu")
    ):
        return False
    return torch.compiler.is_compiling() or not torch._C._is_torch_function_mode_enabled()


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` on the kernel measured fastest for this shape class here
    (:mod:`scratchformers.backends.choice`), for float32 CPU tensors (see the module docstring)."""
    if not _fast_path(x, weight, bias):
        return F.linear(x, weight, bias)
    if torch.compiler.is_compiling():
        return _linear_op(x, weight, bias) if ONEDNN_LINEAR else F.linear(x, weight, bias)
    rows = x.numel() // x.shape[-1]
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)):
        plan = choice.training_plan(rows, weight.shape[0], weight.shape[1], bias is not None)
        if plan == ("mkl", "mkl", "mkl"):
            return F.linear(x, weight, bias)  # PyTorch's own autograd node: no custom-Function overhead
        return _OneDNNLinear.apply(x, weight, bias, plan)
    if (out := gemv.single_row(x, weight, bias)) is not None:
        return out
    kernel = choice.kernel_name("fwd", rows, weight.shape[0], weight.shape[1], bias is not None)
    return _forward(x, weight, bias, kernel)  # inference: no autograd node needed


class OneDNNLinear(nn.Linear):
    """``nn.Linear`` (y = x W^T + b) with the oneDNN float32 CPU path of :func:`linear`. It adds no
    state: :func:`scratchformers.backends.optimize` turns an ``nn.Linear`` into one in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
