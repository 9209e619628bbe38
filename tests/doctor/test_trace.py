"""The op tracer reads the softmax axis and the score scale from the many ways people write attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.analysis import AttentionSite, AttentionTrace
from scratchformers.doctor.attention_checks import check_scaling, check_softmax_axis, mask_diagnosis

D_K = 16


class Styles(nn.Module):
    """One attention written in a given style; q, k, v come from three projections of x."""

    def __init__(self, style):
        super().__init__()
        self.style = style
        self.q, self.k, self.v = (nn.Linear(D_K, D_K) for _ in range(3))

    def forward(self, x):  # x (B, T, D_K), one head
        q, k, v = self.q(x), self.k(x), self.v(x)
        s = self.style
        if s == "matmul":
            return F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D_K), dim=-1) @ v
        if s == "inplace_div":
            scores = torch.matmul(q, k.mT)
            scores /= D_K**0.5
            return scores.softmax(-1) @ v
        if s == "prescaled_q":
            return torch.softmax((q * D_K**-0.5) @ k.transpose(1, 2), dim=2) @ v
        if s == "bmm_tensor_scale":
            scores = torch.bmm(q, k.permute(0, 2, 1)) * torch.tensor(1 / math.sqrt(D_K))
            return torch.bmm(scores.softmax(-1), v)
        if s == "einsum":
            w = torch.einsum("bqd,bkd->bqk", q, k).div(math.sqrt(D_K)).softmax(-1)
            return torch.einsum("bqk,bkd->bqd", w, v)
        if s == "einsum_wrong_axis":
            w = torch.einsum("bqd,bkd->bqk", q, k).div(math.sqrt(D_K)).softmax(1)
            return torch.einsum("bqk,bkd->bqd", w, v)
        if s == "weights_transposed_then_matmul":  # w^T used as the right operand: still over keys
            w = (q @ k.transpose(-2, -1) / math.sqrt(D_K)).softmax(-1)
            return (v.transpose(-2, -1) @ w.transpose(-2, -1)).transpose(-2, -1)
        if s == "sdpa":
            return F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]
        if s == "sdpa_scale_1":
            return F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=1.0)[:, 0]
        raise ValueError(s)


def _trace(style):
    torch.manual_seed(0)
    model = Styles(style)
    with torch.no_grad(), AttentionTrace(model) as trace:
        model(torch.randn(2, 6, D_K))
    return trace.sites


@pytest.mark.parametrize("style", ["matmul", "inplace_div", "prescaled_q", "bmm_tensor_scale", "einsum",
                                   "weights_transposed_then_matmul", "sdpa"])
def test_correct_styles_pass(style):
    sites = _trace(style)
    assert len(sites) == 1 and sites[0].module == "<model>"
    assert sites[0].d_k == D_K and sites[0].scale == pytest.approx(1 / math.sqrt(D_K))
    assert check_softmax_axis(sites).status == "ok"
    assert check_scaling(sites).status == "ok"


def test_einsum_softmax_over_queries_is_caught():
    finding = check_softmax_axis(_trace("einsum_wrong_axis"))
    assert finding.status == "fail" and "softmax(dim=-2)" in finding.message


def test_fused_attention_with_scale_one_is_caught():
    finding = check_scaling(_trace("sdpa_scale_1"))
    assert finding.status == "fail" and "multiplied by 1" in finding.message


def _site_with_mask(blocked: torch.Tensor) -> AttentionSite:
    scores = torch.zeros(blocked.shape).masked_fill(blocked, float("-inf"))
    return AttentionSite("softmax", "m", 0, scores=scores, weights=scores.softmax(-1), dim=-1)


def test_mask_patterns_by_hand():
    t = 5
    causal_blocked = torch.ones(t, t, dtype=torch.bool).triu(1)
    assert mask_diagnosis(_site_with_mask(causal_blocked)) is None
    assert mask_diagnosis(_site_with_mask(torch.ones(t, t, dtype=torch.bool).triu(3)))[0] == "leak"
    assert "see 2 future token(s)" in mask_diagnosis(_site_with_mask(torch.ones(t, t, dtype=torch.bool).triu(3)))[1]
    assert mask_diagnosis(_site_with_mask(~causal_blocked))[0] == "inverted"
    assert mask_diagnosis(_site_with_mask(torch.zeros(t, t, dtype=torch.bool)))[0] == "none"
    # a KV-cache step: 2 new queries over 5 keys, bottom-right aligned, is correct
    kv_blocked = torch.tensor([[False, False, False, False, True], [False] * 5])
    assert mask_diagnosis(_site_with_mask(kv_blocked)) is None
