"""FusedQKVAttention: Q, K, V from one stacked GEMM, equal to the plain three projections."""

import pytest
import torch

import scratchformers as sf
from scratchformers.backends import FUSED_QKV_MIN_TOKENS, FusedQKVAttention, optimize, plain


def _pair(**kwargs):
    torch.manual_seed(0)
    ref = sf.MultiHeadAttention(16, 4, num_kv_heads=2, **kwargs).eval()
    fused = sf.MultiHeadAttention(16, 4, num_kv_heads=2, **kwargs).eval()
    fused.load_state_dict(ref.state_dict())
    optimize(fused, onednn=False)
    assert type(fused) is FusedQKVAttention
    return ref, fused


@pytest.mark.parametrize("seq", [5, 40])  # 2 x 40 tokens >= FUSED_QKV_MIN_TOKENS: the stacked GEMM
@pytest.mark.parametrize("bias", [True, False])
def test_outputs_and_gradients_equal_the_plain_projections(seq, bias):
    ref, fused = _pair(bias=bias)
    x = torch.randn(2, seq, 16)
    outs, grads = [], []
    for attn in (ref, fused):
        out, _ = attn(x, is_causal=True)
        out.square().sum().backward()
        outs.append(out)
        grads.append([p.grad for p in attn.parameters()])
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seq,expected_calls", [(40, 0), (5, 1)])
def test_each_projection_runs_once(seq, expected_calls):
    # Regression: q_proj once ran before the stacked branch and again inside it. Many tokens: one
    # stacked matmul (no separate projection calls); few tokens: one call each.
    _, attn = _pair()
    assert 3 * seq >= FUSED_QKV_MIN_TOKENS or expected_calls == 1
    calls = {"q": 0, "k": 0, "v": 0}
    for name in calls:
        getattr(attn, f"{name}_proj").register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
    attn(torch.randn(3, seq, 16), is_causal=True)
    assert calls == {"q": expected_calls, "k": expected_calls, "v": expected_calls}


def test_decode_steps_with_the_stacked_weights_equal_a_full_plain_pass():
    ref, fused = _pair()
    x = torch.randn(2, 6, 16)
    with torch.no_grad():
        full, _ = ref(x, is_causal=True)
        cache = sf.KVCache(2, 2, 6, 4)
        steps = [fused(x[:, t : t + 1], is_causal=True, kv_cache=cache)[0] for t in range(6)]  # B*T = 2: decode path
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    assert cache in fused._stacked_by_cache  # the decode path really used the kept stack


def test_stacked_weights_are_built_once_per_cache_and_rebuilt_when_a_weight_changes():
    _, attn = _pair()
    cache = sf.KVCache(1, 2, 8, 4)
    weight, bias = attn._stacked_for(cache)
    projs = (attn.q_proj, attn.k_proj, attn.v_proj)
    assert torch.equal(weight, torch.cat([p.weight for p in projs])) and torch.equal(bias, torch.cat([p.bias for p in projs]))
    assert attn._stacked_for(cache)[0] is weight  # reused, not re-stacked
    with torch.no_grad():
        attn.k_proj.weight.add_(1.0)  # an in-place update bumps the version: the stack is stale
    weight2, _ = attn._stacked_for(cache)
    assert weight2 is not weight and torch.equal(weight2[16:24], attn.k_proj.weight)
    del cache
    assert len(attn._stacked_by_cache) == 0  # the copy lives as long as its cache (one generation)
    plain(attn)
    assert "_stacked_by_cache" not in attn.__dict__


def test_under_a_torch_function_mode_the_three_projections_run():
    """The doctor's op tracer attributes each linear call to q_proj / k_proj / v_proj."""
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    _, attn = _pair()
    calls = []
    for proj in (attn.q_proj, attn.k_proj, attn.v_proj):
        proj.register_forward_hook(lambda *_: calls.append(1))
    with Watch():
        attn(torch.randn(2, 40, 16), is_causal=True)  # 80 tokens: stacked without the tracer
    assert len(calls) == 3


def test_a_model_built_under_inference_mode_decodes():
    # Regression: the stacked-weight key read the version counter, which inference tensors lack
    # ("Inference tensors do not track version counter").
    torch.manual_seed(0)
    config = sf.GPTConfig(vocab_size=50, max_positions=32, num_layers=2, num_heads=4, d_model=16)
    with torch.inference_mode():
        built = sf.GPT(config).eval()
    plain_model = sf.GPT(config).eval()
    plain_model.load_state_dict(built.state_dict())
    ids = torch.randint(0, 50, (1, 4))
    with torch.inference_mode():
        got = sf.generate(built, ids, max_new_tokens=6)
        expected = ids
        for _ in range(6):  # argmax over full passes of the plain model, no cache
            expected = torch.cat([expected, plain_model(expected).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(got, expected)
