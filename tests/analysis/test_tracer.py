"""The op tracer on the ways a forward computes attention: the scores it reads back must equal the
ones computed by hand, whatever the API (SDPA with grouped KV heads, einsum with an ellipsis,
baddbmm, nn.MultiheadAttention), and it never raises inside the user's forward."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.analysis import AttentionTrace
from scratchformers.analysis.graph import einsum_operand_axes


def test_sdpa_with_grouped_kv_heads_and_is_causal():
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 2, 5, 8), torch.randn(2, 2, 5, 8)
    with AttentionTrace() as trace:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    (site,) = trace.sites
    expected = q @ k.repeat_interleave(2, dim=1).transpose(-2, -1)  # independent reference: GQA = repeated K heads
    torch.testing.assert_close(site.raw_scores, expected)
    assert site.is_causal and math.isclose(site.scale, 1 / math.sqrt(8))
    assert torch.equal(site.masked(), torch.ones(5, 5, dtype=torch.bool).triu(1))
    assert out.shape == (2, 4, 5, 8)


def test_sdpa_mask_of_any_broadcastable_shape():
    q = torch.randn(2, 2, 4, 8)
    keep = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)[:, None, None, :]  # (B, 1, 1, Tk)
    with AttentionTrace() as trace:
        F.scaled_dot_product_attention(q, q, q, attn_mask=keep)
    blocked = trace.sites[0].masked()
    assert blocked.shape == (2, 1, 4, 4) and torch.equal(blocked[1, 0, 0], torch.tensor([False, False, True, True]))


def test_einsum_with_ellipsis_and_weights_axis():
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4)
    with AttentionTrace() as trace:
        w = torch.einsum("...qd,...kd->...qk", q, k).mul(0.5).softmax(dim=-1)
        torch.einsum("...qk,...kd->...qd", w, v)
    (site,) = trace.sites
    assert site.d_k == 4 and math.isclose(site.scale, 0.5) and site.contracted_dim == -1
    assert einsum_operand_axes("...qd,...kd->...qk", [4, 4])[1].endswith("qk")


def test_baddbmm_scores_are_found_with_their_prescale():
    q, k, v = torch.randn(6, 5, 8), torch.randn(6, 5, 8), torch.randn(6, 5, 8)
    mask = torch.zeros(6, 5, 5)
    with AttentionTrace() as trace:
        w = torch.baddbmm(mask, q * 8 ** -0.5, k.transpose(-2, -1)).softmax(dim=-1)
        torch.bmm(w, v)
    (site,) = trace.sites
    assert site.d_k == 8 and math.isclose(site.scale, 8 ** -0.5, rel_tol=1e-6) and site.contracted_dim == -1
    with AttentionTrace() as trace:  # BLOOM style: the scale as baddbmm's alpha (ALiBi bias as the input)
        torch.baddbmm(mask, q, k.transpose(-2, -1), beta=1.0, alpha=8 ** -0.5).softmax(dim=-1)
    assert math.isclose(trace.sites[0].scale, 8 ** -0.5, rel_tol=1e-6)


def test_inside_nn_multihead_attention():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True).eval()
    x = torch.randn(2, 5, 16)
    before = torch.backends.mha.get_fastpath_enabled()
    with torch.no_grad(), AttentionTrace(layer) as trace:  # the trace turns the opaque fused path off itself
        layer(x)
    assert torch.backends.mha.get_fastpath_enabled() == before  # and restores it
    (site,) = trace.sites
    assert site.kind == "sdpa" and site.module == "self_attn" and site.d_k == 8
    # the in-projection is one packed weight: q, k, v are its chunks 0, 1, 2
    assert [s[1] for s in site.operand_sources] == [0, 1] and site.value_source[1] == 2


def test_the_tracer_never_raises_inside_the_forward(monkeypatch):
    # the site bookkeeping breaks on the softmax: the forward must still run, the failure be noted
    def broken(self, node):
        raise RuntimeError("bookkeeping broke")

    monkeypatch.setattr(AttentionTrace, "_add_softmax_site", broken)

    class Odd(nn.Module):
        def forward(self, x):
            return torch.nn.functional.softmax(x, dim=-1) @ x.transpose(-2, -1)

    x = torch.randn(3, 3)
    with AttentionTrace(Odd()) as trace:
        out = trace.model(x)
    torch.testing.assert_close(out, x.softmax(-1) @ x.t())
    assert trace.sites == [] and len(trace.notes) == 1
    assert trace.notes[0].startswith("softmax at ") and "RuntimeError: bookkeeping broke" in trace.notes[0]


def test_user_location_points_at_the_callers_line():
    with AttentionTrace() as trace:
        torch.randn(2, 3).softmax(dim=-1)  # this line
    node = next(n for n in trace.nodes if n.name == "softmax")
    assert node.where.endswith(f"test_tracer.py:{test_user_location_points_at_the_callers_line.__code__.co_firstlineno + 2}")
