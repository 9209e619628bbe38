"""SmolLM2-135M (real weights from the GGUF asset): greedy continuations identical to transformers.

Fast test: our loader reads the GGUF; transformers gets the same float32 weights through our
``save_pretrained`` folder, so the comparison isolates generation (left padding, RoPE positions,
grouped KV heads, EOS). Slow test: transformers reads the GGUF file itself, independently.
"""

from __future__ import annotations

import pytest
import torch

from scratchformers.generation import generate

PROMPTS = ["The capital of France is", "Once upon a time, in a small village,"]
NEW_TOKENS = 32


@pytest.fixture(scope="module")
def smol_ours(smollm2_gguf):
    from scratchformers.hub import from_pretrained

    return from_pretrained(smollm2_gguf)


@pytest.fixture(scope="module")
def smol_tokenizer(smollm2_gguf):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name)


def left_padded(tokenizer):
    batch = tokenizer(PROMPTS, return_tensors="pt", padding=True, padding_side="left")
    assert bool((batch["attention_mask"] == 0).any())  # the batch really is padded
    return batch["input_ids"], batch["attention_mask"]


def check_greedy(hf_model, ours, tokenizer):
    ids, mask = left_padded(tokenizer)
    eos, pad = hf_model.generation_config.eos_token_id, tokenizer.pad_token_id
    with torch.inference_mode():
        expected = hf_model.generate(ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=pad)
    got = generate(ours, ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, eos_token_id=eos, pad_token_id=pad)
    assert torch.equal(got, expected), (tokenizer.batch_decode(got), tokenizer.batch_decode(expected))
    assert "Paris" in tokenizer.decode(got[0])  # real weights, a real continuation


@pytest.fixture(scope="module")
def smol_hf(smol_ours, smol_tokenizer, tmp_path_factory):
    """transformers' LlamaForCausalLM on the same float32 weights (through our save_pretrained)."""
    from transformers import AutoModelForCausalLM

    from scratchformers.hub import save_pretrained

    folder = tmp_path_factory.mktemp("smollm2")
    save_pretrained(smol_ours, folder)
    hf_model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    hf_model.generation_config.eos_token_id = smol_tokenizer.eos_token_id
    return hf_model


def test_smollm2_greedy_matches_hf(smol_hf, smol_ours, smol_tokenizer):
    check_greedy(smol_hf, smol_ours, smol_tokenizer)


def test_smollm2_batch_one_with_compiled_kernels_matches_hf(smol_hf, smol_ours, smol_tokenizer, single_row_spy):
    """Batch 1 decoding through the inductor matrix-vector kernels (every SmolLM2 weight is above
    GEMV_MIN_WEIGHT) gives HF's greedy tokens on real weights."""
    from scratchformers.backends import ONEDNN_LINEAR

    if not ONEDNN_LINEAR:
        pytest.skip("single-row kernels are part of the x86 float32 CPU fast path")
    eos = smol_hf.generation_config.eos_token_id
    for prompt in PROMPTS:
        ids = smol_tokenizer(prompt, return_tensors="pt")["input_ids"]  # (1, T)
        with torch.inference_mode():
            expected = smol_hf.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False)
        got = generate(smol_ours, ids, max_new_tokens=NEW_TOKENS, eos_token_id=eos, compile_kernels=True)
        assert torch.equal(got, expected), (smol_tokenizer.decode(got[0]), smol_tokenizer.decode(expected[0]))
    assert sum(single_row_spy) >= NEW_TOKENS * 30, "decode steps did not go through the compiled kernels"


@pytest.mark.slow
def test_smollm2_greedy_matches_hf_loading_the_gguf_itself(smol_ours, smol_tokenizer, smollm2_gguf):
    from transformers import AutoModelForCausalLM

    hf_model = AutoModelForCausalLM.from_pretrained(
        str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name, dtype=torch.float32
    ).eval()
    check_greedy(hf_model, smol_ours, smol_tokenizer)
