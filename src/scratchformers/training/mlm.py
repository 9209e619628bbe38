"""Masked-LM pretraining data: BERT's 15% masking with the 80/10/10 replacement rule.

Of the selected positions, 80% become ``[MASK]``, 10% a random token, 10% stay unchanged (so the model
cannot assume that an unmasked-looking token is always correct). Only selected positions carry a
label; all others are -100 and ignored by the loss. Special tokens and padding are never selected.
"""

from __future__ import annotations

import numpy as np
import torch

from scratchformers.data.tokens import RandomWindows
from scratchformers.errors import ConfigError


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    vocab_size: int,
    mask_token_id: int,
    special_ids=(),
    probability: float = 0.15,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids -> (masked inputs, labels with -100 at unselected positions)."""
    if not 0.0 < probability < 1.0:
        raise ConfigError(f"mlm probability must be in (0, 1), got {probability}")
    labels = input_ids.clone()
    probs = torch.full(input_ids.shape, probability)
    never = torch.isin(input_ids, torch.tensor(list(special_ids), dtype=input_ids.dtype)) if special_ids else None
    if never is not None:
        probs.masked_fill_(never, 0.0)
    if attention_mask is not None:
        probs.masked_fill_(attention_mask == 0, 0.0)
    selected = torch.bernoulli(probs, generator=generator).bool()
    labels[~selected] = -100
    inputs = input_ids.clone()
    to_mask = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=generator).bool() & selected
    inputs[to_mask] = mask_token_id
    # half of the remaining 20% -> random token; the other half keeps the original
    to_random = torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=generator).bool() & selected & ~to_mask
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, dtype=input_ids.dtype)
    inputs[to_random] = random_ids[to_random]
    return inputs, labels


class MaskedWindows:
    """Random windows of a token file wrapped as ``[CLS] ... [SEP]`` and masked for MLM."""

    def __init__(self, ids: np.ndarray, block_size: int, batch_size: int, *, vocab_size: int, cls_id: int,
                 sep_id: int, mask_id: int, special_ids=(), probability: float = 0.15, seed: int = 0):
        self.windows = RandomWindows(ids, block_size - 2, batch_size, seed=seed)
        self.vocab_size, self.cls_id, self.sep_id, self.mask_id = vocab_size, cls_id, sep_id, mask_id
        self.special_ids, self.probability = tuple(special_ids), probability
        self.generator = torch.Generator().manual_seed(seed + 1)

    rank = property(lambda self: self.windows.rank, lambda self, v: setattr(self.windows, "rank", v))
    world_size = property(lambda self: self.windows.world_size, lambda self, v: setattr(self.windows, "world_size", v))

    def next_batch(self) -> dict[str, torch.Tensor]:
        body = self.windows.next_batch()["input_ids"]  # (B, T-2)
        B = body.shape[0]
        cls = torch.full((B, 1), self.cls_id, dtype=body.dtype)
        sep = torch.full((B, 1), self.sep_id, dtype=body.dtype)
        ids = torch.cat([cls, body, sep], dim=1)  # (B, T)
        inputs, labels = mask_tokens(ids, vocab_size=self.vocab_size, mask_token_id=self.mask_id,
                                     special_ids=self.special_ids, probability=self.probability,
                                     generator=self.generator)
        return {"input_ids": inputs, "attention_mask": torch.ones_like(inputs), "labels": labels}

    def state_dict(self) -> dict:
        return {"windows": self.windows.state_dict(), "generator": self.generator.get_state().tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.windows.load_state_dict(state["windows"])
        self.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
