"""scaled_dot_product_attention and MultiHeadAttention against independent references:
torch's fused SDPA, the textbook formula written out here, and torch.nn.MultiheadAttention."""

import math

import pytest
import torch
import torch.nn.functional as F

import scratchformers as sf
from scratchformers.errors import ConfigError, DTypeError, ShapeError


def textbook_attention(q, k, v, mask=None):
    """softmax(QK^T / sqrt(d)) V written from the paper; mask True = attend, or additive."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def bottom_right_causal(t_q, t_k):
    return torch.ones(t_k, t_k).tril().bool()[-t_q:]


CASES = [  # (batch dims, Tq, Tk, d, dv)
    ((2, 3), 5, 5, 8, 8),  # self-attention
    ((2,), 4, 7, 16, 8),  # cross-attention, Tq < Tk
    ((1, 2), 7, 3, 4, 6),  # Tq > Tk
]


@pytest.mark.parametrize("batch,t_q,t_k,d,dv", CASES)
@pytest.mark.parametrize("mask_kind", ["none", "bool", "additive"])
def test_matches_torch_sdpa_and_formula(batch, t_q, t_k, d, dv, mask_kind):
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(*batch, t_q, d, generator=g), torch.randn(*batch, t_k, d, generator=g)
    v = torch.randn(*batch, t_k, dv, generator=g)
    mask = None
    if mask_kind == "bool":
        mask = torch.rand(*batch, t_q, t_k, generator=g) > 0.3
        mask[..., 0] = True  # keep every row attendable here; empty rows are tested separately
    elif mask_kind == "additive":
        mask = torch.randn(t_q, t_k, generator=g)
    ours = sf.scaled_dot_product_attention(q, k, v, mask)
    ours_math, weights = sf.scaled_dot_product_attention(q, k, v, mask, return_weights=True)
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    formula, formula_weights = textbook_attention(q, k, v, mask)
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_math, formula, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, formula_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))  # over keys


@pytest.mark.parametrize("t_q,t_k", [(5, 5), (3, 8), (1, 6)])
def test_causal_is_bottom_right_aligned(t_q, t_k):
    q, k, v = torch.randn(2, 4, t_q, 8), torch.randn(2, 4, t_k, 8), torch.randn(2, 4, t_k, 8)
    expected, _ = textbook_attention(q, k, v, bottom_right_causal(t_q, t_k))
    torch.testing.assert_close(sf.scaled_dot_product_attention(q, k, v, is_causal=True), expected, atol=1e-5, rtol=1e-5)
    out, w = sf.scaled_dot_product_attention(q, k, v, is_causal=True, return_weights=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert torch.all(w[..., ~bottom_right_causal(t_q, t_k)] == 0)
    if t_q == t_k:  # square case: identical to torch's own is_causal
        torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5, rtol=1e-5)


def test_causal_combined_with_padding_mask():
    q = k = v = torch.randn(2, 2, 5, 4)
    pad = sf.padding_mask(torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]))
    expected, _ = textbook_attention(q, k, v, pad & bottom_right_causal(5, 5))
    out = sf.scaled_dot_product_attention(q, k, v, pad, is_causal=True)
    torch.testing.assert_close(out[0], expected[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1, :, 2:], expected[1, :, 2:], atol=1e-5, rtol=1e-5)
    assert torch.all(out[1, :, :2] == 0)  # left-padding queries see no key at all -> zeros


@pytest.mark.parametrize("return_weights", [False, True])
def test_fully_masked_rows_are_zero_not_nan(return_weights):
    q = torch.randn(1, 2, 3, 4, requires_grad=True)
    k, v = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4)
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, True]])
    result = sf.scaled_dot_product_attention(q, k, v, mask, return_weights=return_weights)
    out = result[0] if return_weights else result
    assert torch.isfinite(out).all()
    assert torch.all(out[..., 1, :] == 0)
    if return_weights:
        assert torch.all(result[1][..., 1, :] == 0)
    out.sum().backward()
    assert torch.isfinite(q.grad).all()
    additive = torch.zeros(3, 3).masked_fill(~mask, float("-inf"))
    out2 = sf.scaled_dot_product_attention(q.detach(), k, v, additive)
    assert torch.all(out2[..., 1, :] == 0) and torch.isfinite(out2).all()


def test_custom_scale_and_dropout_paths():
    q, k, v = torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8)
    ours = sf.scaled_dot_product_attention(q, k, v, scale=0.5)
    torch.testing.assert_close(ours, torch.softmax(q @ k.transpose(-2, -1) * 0.5, -1) @ v, atol=1e-5, rtol=1e-5)
    torch.manual_seed(0)
    dropped = sf.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not torch.allclose(dropped, sf.scaled_dot_product_attention(q, k, v))


def test_errors_name_the_problem():
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    with pytest.raises(ShapeError, match="head dims differ"):
        sf.scaled_dot_product_attention(q, k, v)
    k = torch.randn(2, 5, 8)
    with pytest.raises(ShapeError, match=r"cannot broadcast.*\(2, 5, 5\)"):
        sf.scaled_dot_product_attention(q, k, v, torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(DTypeError, match="torch.int64"):
        sf.scaled_dot_product_attention(q, k, v, torch.ones(5, 5, dtype=torch.long))
    with pytest.raises(ConfigError, match="not divisible by num_heads=5"):
        sf.MultiHeadAttention(64, 5)
    with pytest.raises(ConfigError, match="multiple of num_kv_heads"):
        sf.MultiHeadAttention(64, 8, num_kv_heads=3)
    with pytest.raises(ShapeError, match=r"\(batch, seq, 64\)"):
        sf.MultiHeadAttention(64, 8)(torch.randn(2, 5, 32))
    assert issubclass(ShapeError, ValueError) and issubclass(DTypeError, TypeError)


def copy_from_torch_mha(ref: torch.nn.MultiheadAttention, d_model, num_heads, kdim=None) -> sf.MultiHeadAttention:
    ours = sf.MultiHeadAttention(d_model, num_heads, kv_dim=kdim)
    with torch.no_grad():
        if ref._qkv_same_embed_dim:
            wq, wk, wv = ref.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = ref.q_proj_weight, ref.k_proj_weight, ref.v_proj_weight
        bq, bk, bv = ref.in_proj_bias.chunk(3)
        for proj, w, b in ((ours.q_proj, wq, bq), (ours.k_proj, wk, bk), (ours.v_proj, wv, bv)):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(ref.out_proj.weight)
        ours.out_proj.bias.copy_(ref.out_proj.bias)
    return ours


@pytest.mark.parametrize("seq", [7, 40])  # 3 x 40 tokens takes the fused-QKV projection path
def test_self_attention_matches_nn_multiheadattention(seq):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ours = copy_from_torch_mha(ref, 32, 4).eval()
    x = torch.randn(3, seq, 32)
    lengths = torch.tensor([seq, 5, 2])
    keep = torch.arange(seq)[None] < lengths[:, None]  # (B, T) True = token
    ref_out, ref_w = ref(x, x, x, key_padding_mask=~keep, need_weights=True)  # torch: True = blocked
    out, w = ours(x, mask=sf.padding_mask(keep.long()), need_weights=True)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w.mean(dim=1), ref_w, atol=1e-6, rtol=1e-5)  # torch averages heads
    fast, none = ours(x, mask=sf.padding_mask(keep.long()))
    assert none is None
    torch.testing.assert_close(fast, ref_out, atol=1e-5, rtol=1e-5)


def test_causal_self_attention_matches_nn_multiheadattention():
    torch.manual_seed(1)
    ref = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    ours = copy_from_torch_mha(ref, 16, 2).eval()
    x = torch.randn(2, 6, 16)
    future = torch.ones(6, 6).triu(1).bool()  # torch polarity: True = blocked
    ref_out, _ = ref(x, x, x, attn_mask=future)
    out, _ = ours(x, is_causal=True)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)


def test_cross_attention_matches_nn_multiheadattention():
    torch.manual_seed(2)
    ref = torch.nn.MultiheadAttention(32, 4, kdim=24, vdim=24, batch_first=True).eval()
    ours = copy_from_torch_mha(ref, 32, 4, kdim=24).eval()
    x, ctx = torch.randn(2, 5, 32), torch.randn(2, 9, 24)
    ref_out, ref_w = ref(x, ctx, ctx, need_weights=True)
    out, w = ours(x, ctx, need_weights=True)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w.mean(1), ref_w, atol=1e-6, rtol=1e-5)
    assert w.shape == (2, 4, 5, 9)


def test_grouped_kv_equals_full_attention_with_repeated_heads():
    torch.manual_seed(3)
    gqa = sf.MultiHeadAttention(32, 8, num_kv_heads=2, bias=False)
    full = sf.MultiHeadAttention(32, 8, bias=False)
    hd = 4
    with torch.no_grad():
        full.q_proj.weight.copy_(gqa.q_proj.weight)
        full.out_proj.weight.copy_(gqa.out_proj.weight)
        for name in ("k_proj", "v_proj"):
            w = getattr(gqa, name).weight.view(2, hd, 32)  # (Hkv, hd, d)
            getattr(full, name).weight.copy_(w.repeat_interleave(4, dim=0).reshape(32, 32))  # each kv head serves 4 q heads
    for seq in (6, 50):  # separate and fused projection paths
        x = torch.randn(2, seq, 32)
        torch.testing.assert_close(gqa(x, is_causal=True)[0], full(x, is_causal=True)[0], atol=1e-5, rtol=1e-5)
    assert gqa.k_proj.weight.shape == (8, 32)


def test_kv_cache_step_by_step_equals_full_pass():
    torch.manual_seed(4)
    attn = sf.MultiHeadAttention(16, 4, num_kv_heads=2).eval()
    rope = sf.RotaryEmbedding(4)
    x = torch.randn(2, 7, 16)
    full, _ = attn(x, is_causal=True, rope=rope)
    cache = sf.KVCache(2, 2, 10, 4)
    first, _ = attn(x[:, :4], is_causal=True, rope=rope, kv_cache=cache, position_ids=torch.arange(4))
    steps = [first]
    for t in range(4, 7):
        out, _ = attn(x[:, t : t + 1], is_causal=True, rope=rope, kv_cache=cache, position_ids=torch.tensor([t]))
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    with pytest.raises(sf.SequenceTooLongError, match="max_len=10"):
        attn(torch.randn(2, 4, 16), kv_cache=cache)


def test_mask_with_more_leading_dims_than_inputs():
    q, k, v = torch.randn(5, 8), torch.randn(6, 8), torch.randn(6, 3)
    mask = torch.rand(2, 5, 6) > 0.3
    mask[..., 0] = True
    out, w = sf.scaled_dot_product_attention(q, k, v, mask, return_weights=True)
    expected, expected_w = textbook_attention(q.expand(2, 5, 8), k.expand(2, 6, 8), v.expand(2, 6, 3), mask)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, expected_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(sf.scaled_dot_product_attention(q, k, v, mask), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("seq", [40, 5])
def test_each_projection_runs_once(seq):
    # Regression: q_proj once ran twice per layer (a wasted matmul). The plain module runs each
    # projection exactly once; the stacked variant is tested in tests/backends/test_fused_qkv.py.
    attn = sf.MultiHeadAttention(32, 4)
    calls = {"q": 0, "k": 0, "v": 0}
    for name in calls:
        getattr(attn, f"{name}_proj").register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
    attn(torch.randn(3, seq, 32), is_causal=True)
    assert calls == {"q": 1, "k": 1, "v": 1}


@pytest.mark.parametrize("path", ["fused", "mask", "mask with batch dims", "weights"])
def test_grouped_kv_heads_equal_repeated_heads(path):
    """k/v with fewer heads (GQA) give what repeating each K/V head for its query heads gives,
    on the fused path (no copies), with a mask and with the weights returned."""
    from scratchformers.nn.attention import scaled_dot_product_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(2, 8, 5, 16), torch.randn(2, 2, 5, 16), torch.randn(2, 2, 5, 16)
    kw = {"is_causal": True}
    if path == "mask":
        kw = {"mask": torch.rand(2, 1, 5, 5) > 0.3}
    if path == "mask with batch dims":  # the mask adds a leading dim: q, k, v are expanded to it
        kw = {"mask": torch.rand(3, 2, 1, 5, 5) > 0.3}
    if path == "weights":
        kw["return_weights"] = True
    got = scaled_dot_product_attention(q, k, v, **kw)
    want = scaled_dot_product_attention(q, k.repeat_interleave(4, dim=1), v.repeat_interleave(4, dim=1), **kw)
    for a, b in zip(got if path == "weights" else [got], want if path == "weights" else [want]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeError, match="multiple of the K/V heads"):
        scaled_dot_product_attention(q, torch.randn(2, 3, 5, 16), torch.randn(2, 3, 5, 16))
