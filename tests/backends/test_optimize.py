"""``backends.optimize`` / ``plain`` / ``optimized`` on whole models: same parameters, names, state
dict, logits, gradients and greedy tokens as the plain model; the doctor's tracer still sees ``linear``."""

import copy

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

import scratchformers as sf
from scratchformers import backends
from scratchformers.backends import ONEDNN_LINEAR, FusedQKVAttention, OneDNNLinear


def _llama():
    torch.manual_seed(0)
    config = sf.LlamaConfig(vocab_size=100, max_positions=64, num_layers=2, num_heads=4, num_kv_heads=2, d_model=32, d_ff=48)
    return sf.LlamaForCausalLM(config).eval()


def _gpt():
    torch.manual_seed(0)
    return sf.GPT(sf.GPTConfig(vocab_size=100, max_positions=64, num_layers=2, num_heads=4, d_model=32)).eval()


def _classes(model):
    return {name: type(m) for name, m in model.named_modules()}


@pytest.mark.parametrize("build", [_gpt, _llama])
def test_same_logits_gradients_and_state_dict(build):
    ref = build()
    fast = copy.deepcopy(ref)
    params_before = {n: p for n, p in fast.named_parameters()}
    assert backends.optimize(fast) is fast
    assert backends.is_optimized(fast) and not backends.is_optimized(ref)
    assert all(type(m) is not nn.Linear for m in fast.modules())
    assert any(isinstance(m, FusedQKVAttention) for m in fast.modules())
    assert {n: p for n, p in fast.named_parameters()} == params_before  # the same Parameter objects
    assert list(fast.state_dict()) == list(ref.state_dict())
    ids = torch.randint(0, 100, (3, 30))  # 90 tokens: the stacked-QKV path
    logits = []
    for model in (ref, fast):
        out = model(ids).logits
        out.logsumexp(-1).sum().backward()
        logits.append(out)
    torch.testing.assert_close(logits[1], logits[0], rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(ref.named_parameters(), fast.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("build", [_gpt, _llama])
def test_same_greedy_tokens(build):
    ref = build()
    fast = backends.optimize(copy.deepcopy(ref))
    ids = torch.randint(0, 100, (2, 5))
    with torch.inference_mode():
        want = _greedy_by_hand(ref, ids, 10)
    assert torch.equal(sf.generate(fast, ids, max_new_tokens=10), want)
    assert torch.equal(sf.generate(ref, ids, max_new_tokens=10), want)
    assert not backends.is_optimized(ref)  # generate optimizes for the call only


def _greedy_by_hand(model, ids, steps):
    """Argmax over full forward passes of the plain model, no cache (the independent reference)."""
    for _ in range(steps):
        ids = torch.cat([ids, model(ids).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids


def test_plain_restores_and_both_directions_are_idempotent():
    model = _llama()
    before = _classes(model)
    backends.optimize(backends.optimize(model))
    optimized = _classes(model)
    assert optimized != before
    backends.optimize(model)
    assert _classes(model) == optimized
    backends.plain(backends.plain(model))
    assert _classes(model) == before
    with backends.optimized(model):
        assert _classes(model) == optimized
    assert _classes(model) == before
    backends.optimize(model, fused_qkv=False)
    with backends.optimized(model):  # a model optimized by its owner stays so
        pass
    assert type(model.lm_head) is OneDNNLinear and not any(isinstance(m, FusedQKVAttention) for m in model.modules())


def test_subclasses_of_linear_keep_their_forward():
    class Scaled(nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    model = nn.Sequential(Scaled(4, 4), nn.Linear(4, 4))
    backends.optimize(model)
    assert type(model[0]) is Scaled and type(model[1]) is OneDNNLinear


def test_non_module_is_a_clear_error():
    with pytest.raises(sf.ConfigError, match="torch.nn.Module"):
        backends.optimize("gpt2")


def test_under_a_torch_function_mode_the_tracer_still_sees_linear():
    model = backends.optimize(_gpt())
    seen = []

    class Watch(TorchFunctionMode):  # what the doctor's op tracer does
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", ""))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Watch():
        model(torch.randint(0, 100, (1, 8)))
    assert seen.count("linear") >= 2 * 6 + 1  # per layer: q, k, v, out, up, down; plus the head


@pytest.mark.skipif(not ONEDNN_LINEAR, reason="the oneDNN path exists on x86 CPUs only")
def test_the_onednn_path_really_runs(monkeypatch):
    from scratchformers.backends import onednn

    calls, original = [], onednn._forward

    def spy(x, weight, bias, kernel):
        calls.append(tuple(weight.shape))
        return original(x, weight, bias, kernel)

    monkeypatch.setattr(onednn, "_forward", spy)
    model = backends.optimize(_gpt())
    with torch.no_grad():
        model(torch.randint(0, 100, (1, 8)))
    assert (100, 32) in calls and (3 * 32, 32) not in calls  # head on oneDNN; 8 tokens: no stacked QKV
    assert len(calls) == 2 * 6 + 1
    calls.clear()
    with torch.no_grad():
        model(torch.randint(0, 100, (4, 20)))
    assert (3 * 32, 32) in calls  # 80 tokens: one stacked GEMM per layer


def test_torch_compile_of_an_optimized_model():
    ref = _gpt().train()
    fast = backends.optimize(copy.deepcopy(ref))
    ids = torch.randint(0, 100, (2, 40))
    want = ref(ids).logits
    want.sum().backward()
    compiled = torch.compile(fast, fullgraph=True)
    got = compiled(ids).logits
    got.sum().backward()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for p, q in zip(ref.parameters(), fast.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5)
