"""Blocks and norms against torch.nn's own TransformerEncoderLayer, LayerNorm and RMSNorm.

A block is assembled from the sublayers it is given (torchtune style); ``BlockSpec`` builds the
standard ones from sizes.
"""

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
    block = sf.TransformerBlock(
        self_attn=sf.MultiHeadAttention(32, 4),
        ffn=sf.FeedForward(32, 64, activation),
        attn_norm=sf.LayerNorm(32),
        ffn_norm=sf.LayerNorm(32),
        norm_first=norm_first,
    ).eval()
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
    blocks = sf.BlockSpec(32, 4, 64, norm_first=False, activation="relu").stack(6).eval()
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
    block = sf.BlockSpec(16, 2, 32, cross_attention=True, causal=True).build()
    out, _ = block(torch.randn(2, 3, 16), torch.randn(2, 5, 16))
    assert out.shape == (2, 3, 16)
    with pytest.raises(ConfigError, match="context="):
        block(torch.randn(2, 3, 16))
    with pytest.raises(ConfigError, match="cross_attn and cross_norm go together"):
        sf.TransformerBlock(block.self_attn, block.ffn, block.attn_norm, block.ffn_norm, cross_attn=block.cross_attn)


def test_block_wires_whatever_sublayers_it_is_given():
    # Any modules fit: here an MLP from torch.nn and RMSNorms. Pre-LN by hand:
    # h = x + attn(norm1(x)); out = h + ffn(norm2(h)).
    torch.manual_seed(2)
    attn, ffn = sf.MultiHeadAttention(16, 2), torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.Tanh(), torch.nn.Linear(24, 16))
    norm1, norm2 = sf.RMSNorm(16), sf.RMSNorm(16)
    block = sf.TransformerBlock(attn, ffn, norm1, norm2, causal=True).eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        h = x + attn(norm1(x), is_causal=True)[0]
        expected = h + ffn(norm2(h))
        torch.testing.assert_close(block(x)[0], expected)
    assert [name for name, _ in block.named_children()] == ["attn_norm", "self_attn", "ffn_norm", "ffn", "dropout"]


def test_block_spec_builds_the_architectures_blocks_with_the_checkpoint_names():
    llama = sf.BlockSpec(32, 4, 48, num_kv_heads=2, activation="swiglu", norm="rmsnorm", bias=False, causal=True).build()
    assert isinstance(llama.attn_norm, sf.RMSNorm) and llama.causal and llama.self_attn.num_kv_heads == 2
    assert sorted(llama.state_dict()) == sorted([
        "attn_norm.weight", "ffn_norm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
        "self_attn.v_proj.weight", "self_attn.out_proj.weight", "ffn.gate_proj.weight", "ffn.up_proj.weight",
        "ffn.down_proj.weight",
    ])  # fmt: skip
    bert = sf.BlockSpec(32, 4, 64, norm_first=False, norm_eps=1e-12).build()
    assert not bert.norm_first and bert.attn_norm.eps == 1e-12 and bert.attn_norm.bias is not None
