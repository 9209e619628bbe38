"""``OneDNNLinear`` (scratchformers.backends): nn.Linear's maths on oneDNN for float32 CPU tensors, F.linear otherwise;
the compiled single-row kernels."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from scratchformers.backends import choice, gemv
from scratchformers.backends.onednn import ONEDNN_LINEAR, linear
from scratchformers.backends.onednn import OneDNNLinear as Linear

ONEDNN = ONEDNN_LINEAR


def _grad_fn_name(out: torch.Tensor) -> str:
    return type(out.grad_fn).__name__


@pytest.mark.parametrize("kernel", ["onednn", "mkl", None])  # None: the measured choice
@pytest.mark.parametrize("shape", [(7, 16), (3, 5, 16), (2, 1, 16), (0, 16)])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_all_gradients_equal_f_linear(shape, bias, kernel):
    torch.manual_seed(0)
    ours = Linear(16, 24, bias=bias)
    x = torch.randn(*shape, requires_grad=True)
    with choice.forced(kernel):
        out = ours(x)
    grad = torch.randn_like(out)
    out.backward(grad)
    got = [x.grad, ours.weight.grad] + ([ours.bias.grad] if bias else [])
    x_ref = x.detach().clone().requires_grad_(True)
    w_ref = ours.weight.detach().clone().requires_grad_(True)
    b_ref = ours.bias.detach().clone().requires_grad_(True) if bias else None
    ref = F.linear(x_ref, w_ref, b_ref)
    ref.backward(grad)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, r in zip(got, [x_ref.grad, w_ref.grad] + ([b_ref.grad] if bias else [])):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)
    if ONEDNN and x.numel() and kernel is not None:  # the forced kernel really ran
        assert (_grad_fn_name(out) == "_OneDNNLinearBackward") == (kernel == "onednn")


def test_non_contiguous_input_and_frozen_weight():
    torch.manual_seed(0)
    layer = Linear(8, 4).requires_grad_(False)
    x = torch.randn(6, 8, 3).transpose(1, 2).requires_grad_(True)  # (6, 3, 8), not contiguous
    out = layer(x)
    out.sum().backward()
    torch.testing.assert_close(out, F.linear(x, layer.weight, layer.bias), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, layer.weight.sum(0).expand(6, 3, 8), rtol=1e-5, atol=1e-5)
    assert layer.weight.grad is None


def test_inference_path_and_is_a_plain_nn_linear():
    torch.manual_seed(0)
    ours, ref = Linear(10, 3), nn.Linear(10, 3)
    ref.load_state_dict(ours.state_dict())
    assert isinstance(ours, nn.Linear) and list(ours.state_dict()) == ["weight", "bias"]
    x = torch.randn(4, 10)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        assert ours(x).grad_fn is None


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
def test_falls_back_to_f_linear_where_the_fast_path_does_not_apply():
    layer = Linear(4, 2)
    x = torch.randn(3, 4, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast casts to bf16 itself
        assert layer(x).dtype == torch.bfloat16
    with torch.backends.mkldnn.flags(enabled=False), choice.forced("onednn"):  # the user's switch
        assert _grad_fn_name(layer(x)) != "_OneDNNLinearBackward"
    assert layer.double()(x.double()).dtype == torch.float64  # other dtypes

    seen = []

    class Watch(TorchFunctionMode):  # the doctor watches `linear` calls like this
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", ""))
            return func(*args, **(kwargs or {}))

    with Watch():
        linear(torch.randn(2, 4), torch.randn(3, 4))
    assert "linear" in seen


def test_compiled_model_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    model = nn.Sequential(Linear(8, 16), nn.GELU(), Linear(16, 4, bias=False))
    x = torch.randn(3, 5, 8)
    ref = model(x)
    ref.sum().backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    compiled = torch.compile(model, fullgraph=True)  # fullgraph: the fast path must not break the graph
    out = compiled(x)
    out.sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for got, want in zip((p.grad for p in model.parameters()), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- single-row kernels
needs_onednn = pytest.mark.skipif(not ONEDNN, reason="single-row kernels belong to the x86 float32 CPU fast path")


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
def test_single_row_kernel_equals_f_linear(single_row_spy, bias):
    torch.manual_seed(0)
    layer = Linear(300, 400, bias=bias)  # 120k weights, above GEMV_MIN_WEIGHT
    assert layer.weight.numel() >= gemv.GEMV_MIN_WEIGHT
    hidden = torch.randn(1, 7, 300)
    used = single_row_spy
    with torch.inference_mode(), gemv.single_row_kernels():
        last = layer(hidden[:, -1:])  # a view with a storage offset, as in decoding
        flat = layer(hidden[0, 3])  # 1-D input
    torch.testing.assert_close(last, F.linear(hidden[:, -1:], layer.weight, layer.bias), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(flat, F.linear(hidden[0, 3], layer.weight, layer.bias), rtol=1e-5, atol=1e-5)
    assert last.shape == (1, 1, 400) and flat.shape == (400,)
    assert used == [True, True]


@needs_onednn
def test_single_row_kernel_only_where_it_applies(single_row_spy):
    torch.manual_seed(0)
    big, small = Linear(300, 400), Linear(16, 24)
    used = single_row_spy
    with torch.inference_mode():
        big(torch.randn(1, 300))  # not enabled: the oneDNN GEMM
    with torch.inference_mode(), gemv.single_row_kernels():
        big(torch.randn(2, 300))  # two rows: a GEMM
        small(torch.randn(1, 16))  # weights in cache: a GEMM
    with gemv.single_row_kernels():
        x = torch.randn(1, 300, requires_grad=True)
        out = big(x)  # training: the autograd path, not the kernel
        out.sum().backward()
    assert used == [False, False, False]
    assert x.grad is not None


@needs_onednn
def test_single_row_kernel_falls_back_when_inductor_cannot_compile(monkeypatch, single_row_spy):
    """No C++ compiler (or any compile error): a logged warning and the oneDNN GEMM, same result."""
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found")

    torch.manual_seed(0)
    layer = Linear(300, 401)  # a shape no other test builds, so the cache does not hide the failure
    monkeypatch.setattr(torch._inductor, "compile", broken)
    gemv.gemv_kernel.cache_clear()
    try:
        used = single_row_spy
        x = torch.randn(1, 300)
        with torch.inference_mode(), gemv.single_row_kernels():
            out = layer(x)
        assert used == [False]
        torch.testing.assert_close(out, F.linear(x, layer.weight, layer.bias), rtol=1e-5, atol=1e-5)
    finally:
        gemv.gemv_kernel.cache_clear()  # later tests compile for real


@pytest.mark.parametrize("kernel", ["mkl", "onednn", "mv", "c", None])
def test_a_wrong_input_width_is_an_error_on_every_kernel(kernel):
    """The C kernel reads as many inputs as the weight has columns: a narrower input must be refused
    (F.linear's error), never read past its end into a wrong answer (regression)."""
    layer = Linear(64, 8).eval()
    with choice.forced(kernel), torch.inference_mode(), pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        layer(torch.randn(1, 32))
    with choice.forced(kernel), torch.inference_mode(), pytest.raises(RuntimeError):
        linear(torch.randn(1, 64), layer.weight, torch.randn(5))  # a bias of the wrong length
