"""Fixtures for the generation tests: small random transformers models (GPT-2, Llama) and the same
checkpoints loaded by scratchformers, so every decoding strategy can be compared token for token."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tiny models run fastest on one thread, and the test machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_hf_gpt2(*, vocab_size=512, n_positions=128, n_layer=2, n_head=4, n_embd=64, seed=0):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
        bos_token_id=0, eos_token_id=1, pad_token_id=None, tie_word_embeddings=False,
    )
    model = GPT2LMHeadModel(config).eval()
    # At the default init every logit is ~0 and a tied head just echoes the input token. An
    # untied head with larger weights gives varied continuations whose top-2 logits differ by
    # >1e-2, far above float32 noise, so argmax decisions are the same in both implementations.
    with torch.no_grad():
        model.lm_head.weight.normal_(0, 0.5)
    model.generation_config.eos_token_id = None  # EOS only where a test passes one explicitly
    return model


def load_ours(hf_model, folder):
    """Save the transformers model and load it with our checkpoint loader."""
    from scratchformers.hub import from_pretrained

    hf_model.save_pretrained(folder)
    return from_pretrained(folder)


@pytest.fixture(scope="session")
def gpt_pair(tmp_path_factory):
    """(transformers GPT2LMHeadModel, our GPT loaded from its saved folder)."""
    hf = make_hf_gpt2()
    return hf, load_ours(hf, tmp_path_factory.mktemp("gpt2"))


def make_hf_llama(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=384, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=0, eos_token_id=1, pad_token_id=None,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # decisive, varied continuations (see make_hf_gpt2)
        model.lm_head.weight.normal_(0, 0.5)
    model.generation_config.eos_token_id = None  # EOS only where a test passes one explicitly
    return model


@pytest.fixture(scope="session")
def llama_pair(tmp_path_factory):
    """(transformers LlamaForCausalLM with grouped KV heads, our Llama loaded from its folder)."""
    hf = make_hf_llama()
    return hf, load_ours(hf, tmp_path_factory.mktemp("llama"))


def left_padded_prompts(lengths, vocab, *, pad_id=1, seed=0):
    """(ids, attention_mask) for prompts of the given lengths, left padded with pad_id."""
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(2, vocab, (len(lengths), width), generator=g)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for row, n in enumerate(lengths):
        mask[row, width - n :] = 1
    return ids.masked_fill(mask == 0, pad_id), mask


@pytest.fixture
def prompts():
    return left_padded_prompts


@pytest.fixture(scope="module")
def reference_gpt2(tmp_path_factory):
    """Our GPT-2 with the weights the recorded transformers 4.46.3 references were made with
    (tests/generation/reference: built here by transformers 5, converted by the hub)."""
    import sys
    from pathlib import Path

    from transformers import GPT2Config, GPT2LMHeadModel

    from scratchformers.hub import from_pretrained

    sys.path.insert(0, str(Path(__file__).parent / "reference"))
    from weights import GPT2_CONFIG, fill

    folder = tmp_path_factory.mktemp("gpt2-ref")
    fill(GPT2LMHeadModel(GPT2Config(**GPT2_CONFIG))).save_pretrained(folder)
    return from_pretrained(folder)
