"""CUDA paths. CI has no GPU, so these skip cleanly there; run them on a GPU machine with
`python -m pytest tests/test_gpu.py -m gpu`."""

import pytest
import torch

import scratchformers as sf

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def tiny_gpt():
    torch.manual_seed(0)
    return sf.GPT(sf.GPTConfig(vocab_size=128, max_positions=64, num_layers=2, num_heads=4, d_model=64)).eval()


def test_attention_on_cuda_matches_cpu():
    q, k, v = torch.randn(2, 4, 32, 16), torch.randn(2, 4, 32, 16), torch.randn(2, 4, 32, 16)
    mask = sf.padding_mask(torch.tensor([[1] * 32, [1] * 20 + [0] * 12]))
    cpu = sf.scaled_dot_product_attention(q, k, v, mask, is_causal=True)
    gpu = sf.scaled_dot_product_attention(q.cuda(), k.cuda(), v.cuda(), mask.cuda(), is_causal=True)
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=1e-4)


def test_gpt_cuda_float32_matches_cpu_and_bf16_autocast_is_close():
    model = tiny_gpt()
    ids = torch.randint(0, 128, (2, 40))
    cpu = model(ids).logits
    model = model.cuda()
    gpu = model(ids.cuda()).logits
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=1e-4)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        bf16 = model(ids.cuda()).logits
    assert torch.isfinite(bf16).all()
    assert (bf16.float().cpu() - cpu).abs().max() < 0.1


def test_greedy_generation_on_cuda_equals_cpu():
    model = tiny_gpt()
    prompt = torch.randint(0, 128, (2, 8))
    cpu = sf.generate(model, prompt, max_new_tokens=12)
    gpu = sf.generate(model.cuda(), prompt.cuda(), max_new_tokens=12)
    assert torch.equal(gpu.cpu(), cpu)
