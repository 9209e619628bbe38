"""The small GPT-2 the recorded references were generated with: a config and a deterministic fill
of every parameter that depends on torch only (not on the transformers version's init order)."""

from __future__ import annotations

import torch

GPT2_CONFIG = dict(vocab_size=96, n_positions=64, n_layer=2, n_head=4, n_embd=32, bos_token_id=0, eos_token_id=1,
                   tie_word_embeddings=False)  # fmt: skip
PAD = 1
LENGTHS = [6, 3, 5]


def fill(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter from one seeded generator, in name order: layer norms near 1, biases small,
    weights N(0, 0.3) (the head N(0, 1): decisive, varied continuations)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=g)
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.05 * noise)
            elif name.endswith("bias"):
                p.copy_(0.05 * noise)
            else:
                p.copy_(noise * (1.0 if name.startswith("lm_head") else 0.3))
    return model.eval()


def prompts():
    """(ids, attention_mask): three prompts, left padded with PAD."""
    g = torch.Generator().manual_seed(0)
    width = max(LENGTHS)
    ids = torch.randint(2, GPT2_CONFIG["vocab_size"], (len(LENGTHS), width), generator=g)
    mask = torch.zeros(len(LENGTHS), width, dtype=torch.long)
    for row, n in enumerate(LENGTHS):
        mask[row, width - n :] = 1
    return ids.masked_fill(mask == 0, PAD), mask
