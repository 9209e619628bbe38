"""Sequence-to-sequence training of :class:`~scratchformers.models.EncoderDecoder` (teacher forcing).

Batches carry the source (``input_ids`` + ``attention_mask``) and the ``labels`` (``target + [EOS]``, -100 on padding); the model reads the labels shifted right behind
``[BOS]`` (``[BOS] + target``), so the decoder learns to predict each target token from the previous ones
and the encoder memory via cross-attention.
The synthetic string-reversal task shows the whole pipeline learning in well under a minute on CPU.
"""

from __future__ import annotations

import string

import torch

from scratchformers.data.batching import PaddingCollator

PAD, BOS, EOS = 0, 1, 2


def seq2seq_example(source: list[int], target: list[int]) -> dict:
    """One training example from a source and a target id list (without BOS/EOS)."""
    return {"input_ids": source + [EOS], "labels": target + [EOS]}


class ReversalData:
    """Endless batches of random strings (``min_len``..``max_len`` characters) and their reversals."""

    def __init__(self, batch_size: int, *, min_len: int = 5, max_len: int = 20, alphabet: str = string.ascii_lowercase,
                 seed: int = 0):
        self.batch_size, self.min_len, self.max_len, self.alphabet = batch_size, min_len, max_len, alphabet
        self.generator = torch.Generator().manual_seed(seed)
        self.collate = PaddingCollator(pad_id=PAD)
        self.rank, self.world_size = 0, 1

    @property
    def vocab_size(self) -> int:
        return 3 + len(self.alphabet)

    def encode(self, text: str) -> list[int]:
        return [3 + self.alphabet.index(c) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.alphabet[i - 3] for i in ids if i >= 3)

    def sample_sources(self, n: int) -> list[list[int]]:
        lengths = torch.randint(self.min_len, self.max_len + 1, (n,), generator=self.generator).tolist()
        return [torch.randint(3, self.vocab_size, (k,), generator=self.generator).tolist() for k in lengths]

    def next_batch(self) -> dict[str, torch.Tensor]:
        sources = self.sample_sources(self.batch_size)
        local = self.batch_size // self.world_size
        sources = sources[self.rank * local : (self.rank + 1) * local]
        return self.collate([seq2seq_example(s, s[::-1]) for s in sources])

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state().tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))


@torch.no_grad()
def greedy_decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *, max_new_tokens: int,
                  bos_id: int = BOS, eos_id: int = EOS) -> list[list[int]]:
    """Argmax decoding with a KV cache: encode once, then one decoder step per token."""
    model.eval()
    memory = model.encode(input_ids, attention_mask)  # (B, Ts, d)
    B = input_ids.shape[0]
    cache = model.new_cache(B, max_new_tokens + 1)
    token = torch.full((B, 1), bos_id, dtype=torch.long, device=input_ids.device)
    out = torch.empty((B, 0), dtype=torch.long, device=input_ids.device)
    done = torch.zeros(B, dtype=torch.bool, device=input_ids.device)
    for _ in range(max_new_tokens):
        logits = model(decoder_input_ids=token, encoder_out=memory, attention_mask=attention_mask, cache=cache).logits
        token = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        out = torch.cat([out, token], dim=1)
        done |= token[:, 0] == eos_id
        if bool(done.all()):
            break
    results = []
    for row in out.tolist():
        results.append(row[: row.index(eos_id)] if eos_id in row else row)
    return results


def exact_match(model, data: ReversalData, num_examples: int = 500, batch_size: int = 250, seed: int = 123) -> float:
    """Share of fresh random strings whose greedy decoding is exactly the reversed string."""
    probe = ReversalData(batch_size, min_len=data.min_len, max_len=data.max_len, alphabet=data.alphabet, seed=seed)
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, num_examples, batch_size):
        sources = probe.sample_sources(min(batch_size, num_examples - start))
        batch = probe.collate([{"input_ids": s + [EOS]} for s in sources])
        decoded = greedy_decode(model, batch["input_ids"].to(device), batch["attention_mask"].to(device),
                                max_new_tokens=data.max_len + 1)
        correct += sum(d == s[::-1] for d, s in zip(decoded, sources))
    return correct / num_examples
