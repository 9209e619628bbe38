"""Training attention on the measured-faster kernel (scratchformers.backends.attention_choice): the
explicit math equals SDPA's fused kernel (outputs and gradients), each shape is measured once, long
sequences are not measured, and a FusedQKVAttention step gives the plain module's loss either way."""

import copy

import pytest
import torch
import torch.nn.functional as F

from scratchformers import backends
from scratchformers.backends import attention_choice
from scratchformers.nn import MultiHeadAttention


@pytest.fixture(autouse=True)
def fresh():
    attention_choice.clear()
    yield
    attention_choice.clear()


@pytest.mark.parametrize("causal", [True, False])
def test_math_equals_the_fused_kernel_with_gradients(causal):
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 4, 16, 8, requires_grad=True) for _ in range(3))
    grad = torch.randn(3, 4, 16, 8)
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    fused_grads = torch.autograd.grad(fused, (q, k, v), grad)
    math = attention_choice.math_attention(q, k, v, causal)
    math_grads = torch.autograd.grad(math, (q, k, v), grad)
    torch.testing.assert_close(math, fused, rtol=1e-5, atol=1e-5)
    for a, b in zip(math_grads, fused_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_each_shape_is_measured_once(monkeypatch):
    calls = []
    monkeypatch.setattr(attention_choice, "_measure", lambda *a: calls.append(a) or True)
    q = torch.randn(2, 2, 8, 4, requires_grad=True)
    assert attention_choice.math_is_faster(q, q, True) and attention_choice.math_is_faster(q, q, True)
    assert len(calls) == 1
    attention_choice.math_is_faster(torch.randn(2, 2, 9, 4), torch.randn(2, 2, 9, 4), True)
    assert len(calls) == 2


def test_a_long_call_keeps_the_fused_kernel_without_measuring(monkeypatch):
    monkeypatch.setattr(attention_choice, "MAX_CALL_S", 0.0)
    assert attention_choice._measure((2, 2, 32, 8), (2, 2, 32, 8), True) is False


def test_only_training_float32_cpu_outside_tracing_applies():
    q = torch.randn(1, 2, 4, 8, requires_grad=True)
    assert attention_choice.applies(q, q, True)
    assert not attention_choice.applies(q.detach(), q, True)  # inference: the fused kernel
    assert not attention_choice.applies(q, torch.randn(1, 2, 5, 8), True)  # causal over unequal lengths
    with torch.no_grad():
        assert not attention_choice.applies(q, q, False)
    assert not attention_choice.applies(q.double(), q, False)


@pytest.mark.parametrize("math_wins", [True, False])
def test_an_optimized_attention_gives_the_plain_output_and_gradients(monkeypatch, math_wins):
    monkeypatch.setattr(attention_choice, "_measure", lambda *a: math_wins)
    torch.manual_seed(0)
    plain = MultiHeadAttention(32, 4)
    fast = backends.optimize(copy.deepcopy(plain))
    x = torch.randn(4, 20, 32)  # 80 tokens: the stacked Q/K/V path, then attention
    outs = []
    for model in (plain, fast):
        out, _ = model(x, is_causal=True)
        out.square().sum().backward()
        outs.append(out)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)
    assert len(attention_choice._math_wins) == 1  # the choice was consulted
