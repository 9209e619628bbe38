"""The KV cache's stacked Q/K/V projection used by decode steps."""

import torch

from scratchformers.nn import KVCache, MultiHeadAttention


def test_stacked_projection_is_built_once_and_rebuilt_when_a_weight_changes():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4, num_kv_heads=2)
    projs = (attn.q_proj, attn.k_proj, attn.v_proj)
    cache = KVCache(1, 2, 8, 4)
    weight, bias = cache.stacked_projection(projs)
    assert torch.equal(weight, torch.cat([p.weight for p in projs])) and torch.equal(bias, torch.cat([p.bias for p in projs]))
    assert cache.stacked_projection(projs)[0] is weight  # reused, not re-stacked
    with torch.no_grad():
        attn.k_proj.weight.add_(1.0)  # an in-place update bumps the version: the stack is stale
    weight2, _ = cache.stacked_projection(projs)
    assert weight2 is not weight and torch.equal(weight2[16:24], attn.k_proj.weight)


def test_decode_steps_with_the_stacked_projection_equal_a_full_pass():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4, num_kv_heads=2).eval()
    x = torch.randn(2, 6, 16)
    with torch.no_grad():
        full, _ = attn(x, is_causal=True)
        cache = KVCache(2, 2, 6, 4)
        steps = [attn(x[:, t : t + 1], is_causal=True, kv_cache=cache)[0] for t in range(6)]  # B*T = 2: decode path
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    assert cache._stacked is not None  # the decode path really used it
