"""Blocks and norms against torch.nn's own TransformerEncoderLayer, LayerNorm and RMSNorm."""

import pytest
import torch
import torch.nn.functional as F

import scratchformers as sf
from scratchformers.errors import ConfigError


def copy_encoder_layer(ref: torch.nn.TransformerEncoderLayer, block: sf.TransformerBlock) -> None:
    with torch.no_grad():
        wq, wk, wv = ref.self_attn.in_proj_weight.chunk(3)
        bq, bk, bv = ref.self_attn.in_proj_bias.chunk(3)
        attn = block.self_attn
        for proj, w, b in ((attn.q_proj, wq, bq), (attn.k_proj, wk, bk), (attn.v_proj, wv, bv)):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        attn.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
        block.ffn.up_proj.load_state_dict(ref.linear1.state_dict())
        block.ffn.down_proj.load_state_dict(ref.linear2.state_dict())
        block.attn_norm.load_state_dict(ref.norm1.state_dict())
        block.ffn_norm.load_state_dict(ref.norm2.state_dict())


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_block_matches_torch_transformer_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(
        32, 4, 64, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    ).eval()
    block = sf.TransformerBlock(32, 4, 64, norm_first=norm_first, activation=activation).eval()
    copy_encoder_layer(ref, block)
    x = torch.randn(3, 6, 32)
    keep = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    expected = ref(x, src_key_padding_mask=~keep.bool())
    out, _ = block(x, mask=sf.padding_mask(keep))
    # torch's fast path leaves padded positions undefined; compare real tokens
    torch.testing.assert_close(out[keep.bool()], expected[keep.bool()], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(block(x)[0], ref(x), atol=1e-5, rtol=1e-4)


def test_stack_of_six_matches_torch_transformer_encoder():
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, norm_first=False)
    ref = torch.nn.TransformerEncoder(layer, num_layers=6, enable_nested_tensor=False).eval()
    blocks = [sf.TransformerBlock(32, 4, 64, norm_first=False, activation="relu").eval() for _ in range(6)]
    for r, b in zip(ref.layers, blocks):
        copy_encoder_layer(r, b)
    x = torch.randn(2, 5, 32)
    h = x
    for b in blocks:
        h, _ = b(h)
    torch.testing.assert_close(h, ref(x), atol=1e-4, rtol=1e-4)


def test_norms_match_torch():
    x = torch.randn(4, 7, 16) * 3 + 1
    ln = sf.LayerNorm(16, eps=1e-5)
    with torch.no_grad():
        ln.weight.uniform_()
        ln.bias.uniform_()
    torch.testing.assert_close(ln(x), F.layer_norm(x, (16,), ln.weight, ln.bias, 1e-5))
    rms = sf.RMSNorm(16, eps=1e-6)
    ref = torch.nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        rms.weight.uniform_()
        ref.weight.copy_(rms.weight)
    torch.testing.assert_close(rms(x), ref(x), atol=1e-6, rtol=1e-5)


def test_swiglu_feedforward_formula():
    ff = sf.FeedForward(8, 16, "swiglu", bias=False)
    x = torch.randn(2, 3, 8)
    expected = (F.silu(x @ ff.gate_proj.weight.T) * (x @ ff.up_proj.weight.T)) @ ff.down_proj.weight.T
    torch.testing.assert_close(ff(x), expected)
    with pytest.raises(ConfigError, match="activation must be one of"):
        sf.FeedForward(8, 16, "tanh")


def test_cross_attention_block_needs_context():
    block = sf.TransformerBlock(16, 2, 32, cross_attention=True, causal=True)
    out, _ = block(torch.randn(2, 3, 16), torch.randn(2, 5, 16))
    assert out.shape == (2, 3, 16)
    with pytest.raises(ConfigError, match="context="):
        block(torch.randn(2, 3, 16))
