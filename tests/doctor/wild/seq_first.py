"""A language model on nn.TransformerEncoder, sequence-first: ids are (T, B), the sinusoidal
``pe`` buffer is (max_len, 1, d), the causal mask is a float (T, T) matrix of 0 / -inf."""

import math

import torch
from torch import nn


class SinusoidTable(nn.Module):
    def __init__(self, width, dropout=0.1, max_len=64):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        freqs = torch.pow(10000.0, -torch.arange(0, width, 2) / width)
        angles = torch.arange(max_len)[:, None] * freqs[None, :]
        table = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1)
        self.register_buffer("pe", table[:, None, :])  # (max_len, 1, width): broadcasts over the batch

    def forward(self, x):
        return self.drop(x + self.pe[: x.size(0)])


def causal_float_mask(n):
    return torch.triu(torch.full((n, n), float("-inf")), diagonal=1)


class SeqFirstLM(nn.Module):
    def __init__(self, ntoken=45, width=32, heads=4, hidden=64, layers=2, dropout=0.1):
        super().__init__()
        self.tokens = nn.Embedding(ntoken, width)
        self.positions = SinusoidTable(width, dropout)
        block = nn.TransformerEncoderLayer(width, heads, hidden, dropout)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.to_vocab = nn.Linear(width, ntoken)
        self.width = width

    def forward(self, src, src_mask=None):
        h = self.tokens(src) * math.sqrt(self.width)
        h = self.positions(h)
        if src_mask is None:
            src_mask = causal_float_mask(src.size(0)).to(src.device)
        h = self.encoder(h, src_mask)
        return self.to_vocab(h)


CAUSAL = True


def build(seed=0, nlayers=2):
    torch.manual_seed(seed)
    return SeqFirstLM(layers=nlayers).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(0, 45, (12, 2), generator=gen), "forward_kwargs": {}}
