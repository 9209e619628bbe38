"""Positional encodings: the sinusoidal formula, RoPE's relative-position property and its parity
with Hugging Face's Llama implementation, and ALiBi's slopes against the paper/BLOOM."""

import math

import pytest
import torch

import scratchformers as sf
from scratchformers.errors import SequenceTooLongError


def test_sinusoidal_values_and_shape():
    pe = sf.SinusoidalPositionalEncoding(16, max_len=50)
    assert pe.pe.shape == (1, 50, 16)
    for pos, i in [(0, 0), (3, 2), (17, 5), (49, 7)]:
        angle = pos / 10000 ** (2 * i / 16)
        assert pe.pe[0, pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
        assert pe.pe[0, pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)
    x = torch.zeros(2, 10, 16)
    torch.testing.assert_close(pe(x), pe.pe[:, :10].expand(2, -1, -1))
    with pytest.raises(SequenceTooLongError, match="max_len=50"):
        pe(torch.zeros(1, 51, 16))


@pytest.mark.parametrize("style", ["half", "interleaved"])
def test_rope_scores_depend_only_on_relative_position(style):
    rope = sf.RotaryEmbedding(8, style=style)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(m, n):
        qm, _ = rope(q, q, torch.tensor([m]))
        _, kn = rope(k, k, torch.tensor([n]))
        return (qm * kn).sum().item()

    assert score(5, 2) == pytest.approx(score(105, 102), abs=1e-4)
    assert score(0, 7) == pytest.approx(score(30, 37), abs=1e-4)
    assert score(5, 2) != pytest.approx(score(5, 4), abs=1e-3)
    qr, _ = rope(q, q, torch.tensor([9]))
    assert qr.norm().item() == pytest.approx(q.norm().item(), rel=1e-5)  # a rotation


def test_rope_half_matches_hf_llama():
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    head_dim, base = 16, 10000.0
    rope = sf.RotaryEmbedding(head_dim, base=base)
    q, k = torch.randn(2, 3, 5, head_dim), torch.randn(2, 3, 5, head_dim)
    pos = torch.tensor([[0, 1, 2, 3, 4], [3, 4, 5, 6, 7]])
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2).float() / head_dim)
    freqs = pos[..., None].float() * inv_freq  # (B, T, hd/2)
    emb = torch.cat([freqs, freqs], -1)
    ref_q, ref_k = apply_rotary_pos_emb(q, k, emb.cos(), emb.sin())
    ours_q, ours_k = rope(q, k, pos)
    torch.testing.assert_close(ours_q, ref_q, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours_k, ref_k, atol=1e-6, rtol=1e-5)


def test_rope_interleaved_is_half_with_permuted_dims():
    rope_i, rope_h = sf.RotaryEmbedding(8, style="interleaved"), sf.RotaryEmbedding(8, style="half")
    perm = torch.tensor([0, 2, 4, 6, 1, 3, 5, 7])  # (x0, x1), (x2, x3) ... -> halves
    q = torch.randn(1, 2, 4, 8)
    qi, _ = rope_i(q, q)
    qh, _ = rope_h(q[..., perm], q[..., perm])
    torch.testing.assert_close(qi[..., perm], qh, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("num_heads", [8, 12])
def test_alibi_slopes_match_bloom(num_heads):
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    mask = torch.ones(1, 4)
    bloom = build_alibi_tensor(mask, num_heads, torch.float32).view(num_heads, 1, 4)  # slope_h * key position
    expected_slopes = bloom[:, 0, 1]
    torch.testing.assert_close(sf.ALiBi(num_heads).slopes, expected_slopes)
    if num_heads == 8:
        torch.testing.assert_close(sf.ALiBi(8).slopes, torch.tensor([2.0 ** -(i + 1) for i in range(8)]))


def test_alibi_bias_is_linear_in_distance_and_softmax_equivalent_to_bloom():
    alibi = sf.ALiBi(4)
    bias = alibi(5, 5)  # (H, 5, 5)
    assert bias.shape == (4, 5, 5)
    assert torch.all(bias.diagonal(dim1=1, dim2=2) == 0)
    torch.testing.assert_close(bias[:, 4, 1], -3 * alibi.slopes)
    # Under a causal mask, -slope*(i-j) and BLOOM's slope*j differ by a per-row constant: same softmax.
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    bloom = build_alibi_tensor(torch.ones(1, 5), 4, torch.float32).view(4, 1, 5)
    causal = sf.causal_mask(5)
    ours = torch.softmax(bias.masked_fill(~causal, float("-inf")), -1)
    theirs = torch.softmax(bloom.expand(4, 5, 5).masked_fill(~causal, float("-inf")), -1)
    torch.testing.assert_close(ours, theirs)
    assert alibi(2, 5).shape == (4, 2, 5)
    torch.testing.assert_close(alibi(2, 5), bias_full := alibi(5, 5)[:, 3:])
    assert bias_full.shape == (4, 2, 5)


def test_learned_positions_error_instead_of_index_error():
    emb = sf.LearnedPositionalEmbedding(8, 4)
    assert emb(torch.arange(8)).shape == (8, 4)
    with pytest.raises(SequenceTooLongError, match="Truncate"):
        emb(torch.arange(9))
