"""FastDropout / attention_with_dropout: dropout's distribution and gradient from a cheaper mask."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scratchformers as sf
from scratchformers import backends
from scratchformers.backends.dropout import FastDropout, attention_with_dropout, dropout


def test_identity_in_eval_and_at_p_zero():
    x = torch.randn(4, 8)
    assert dropout(x, 0.5, training=False) is x and dropout(x, 0.0) is x
    layer = backends.optimize(nn.Sequential(nn.Dropout(0.3)))[0]
    assert type(layer) is FastDropout
    assert torch.equal(layer.eval()(x), x)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_mask_is_bernoulli_and_kept_values_are_rescaled(p):
    torch.manual_seed(0)
    n = 400_000
    y = dropout(torch.ones(n), p)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)  # five standard errors
    torch.testing.assert_close(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p)))


def test_gradient_is_the_same_mask_and_scale():
    torch.manual_seed(0)
    x = torch.randn(64, 32, requires_grad=True)
    y = dropout(x, 0.25)
    g = torch.randn_like(y)
    y.backward(g)
    keep = (y != 0).float()
    torch.testing.assert_close(y, x.detach() * keep / 0.75)
    torch.testing.assert_close(x.grad, g * keep / 0.75)


@pytest.mark.parametrize("is_causal", [False, True])
def test_attention_with_dropout_equals_the_formula_with_the_same_draw(is_causal):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    torch.manual_seed(7)
    out = attention_with_dropout(q, k, v, 0.2, is_causal)
    scores = q @ k.transpose(-2, -1) / math.sqrt(8)
    if is_causal:
        scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
    weights = scores.softmax(-1)
    torch.manual_seed(7)  # the same single draw of the global generator
    keep = torch.rand_like(weights) >= 0.2
    torch.testing.assert_close(out, (weights * keep / 0.8) @ v, rtol=1e-5, atol=1e-6)
    # without dropout, the formula is plain attention
    torch.testing.assert_close(attention_with_dropout(q, k, v, 0.0, is_causal),
                               F.scaled_dot_product_attention(q, k, v, is_causal=is_causal), rtol=1e-5, atol=1e-6)


def test_optimized_bert_trains_with_the_fast_attention_dropout_and_matches_plain_in_eval(monkeypatch):
    from scratchformers.backends import fused_qkv

    torch.manual_seed(0)
    config = sf.BertConfig(vocab_size=100, num_layers=2, d_model=32, num_heads=4, d_ff=64, dropout=0.1)
    plain_model = sf.BertForSequenceClassification(config)
    fast = sf.BertForSequenceClassification(config)
    fast.load_state_dict(plain_model.state_dict())
    backends.optimize(fast)
    calls = []
    original = fused_qkv.attention_with_dropout
    monkeypatch.setattr(fused_qkv, "attention_with_dropout", lambda *a: calls.append(1) or original(*a))
    ids, labels = torch.randint(0, 100, (4, 12)), torch.tensor([0, 1, 0, 1])
    loss = fast.train()(input_ids=ids, labels=labels).loss
    loss.backward()
    assert len(calls) == 2 and torch.isfinite(loss)
    assert all(p.grad is not None for p in fast.parameters() if p.requires_grad)
    with torch.no_grad():
        torch.testing.assert_close(fast.eval()(input_ids=ids).logits, plain_model.eval()(input_ids=ids).logits,
                                   rtol=1e-5, atol=1e-5)
