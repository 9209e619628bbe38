"""An encoder that folds the heads into the batch: (B, T, C) -> (B*H, T, D) for torch.bmm, valid
lengths instead of a mask (scores beyond a row's length overwritten in place), post-norm
"add & norm" wrappers and a sinusoidal table held in a plain attribute."""

import math

import torch
from torch import nn


def fold_heads(x, heads):
    b, t, c = x.shape
    return x.reshape(b, t, heads, c // heads).permute(0, 2, 1, 3).reshape(b * heads, t, c // heads)


def unfold_heads(x, heads):
    bh, t, d = x.shape
    x = x.reshape(bh // heads, heads, t, d)
    x = x.permute(0, 2, 1, 3)
    return x.reshape(bh // heads, t, heads * d)


def softmax_within_lengths(scores, lengths):
    if lengths is None:
        return torch.softmax(scores, dim=-1)
    flat = scores.reshape(-1, scores.shape[-1])
    limit = lengths.repeat_interleave(scores.shape[1])
    outside = torch.arange(flat.shape[-1], device=flat.device)[None, :] >= limit[:, None]
    flat[outside] = -1e6
    return torch.softmax(flat.reshape(scores.shape), dim=-1)


class FoldedAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_map = nn.Linear(width, width, bias=False)
        self.k_map = nn.Linear(width, width, bias=False)
        self.v_map = nn.Linear(width, width, bias=False)
        self.o_map = nn.Linear(width, width, bias=False)

    def forward(self, x, lengths):
        q = fold_heads(self.q_map(x), self.heads)
        k = fold_heads(self.k_map(x), self.heads)
        v = fold_heads(self.v_map(x), self.heads)
        scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(q.shape[-1])
        folded_lengths = None if lengths is None else lengths.repeat_interleave(self.heads)
        weights = softmax_within_lengths(scores, folded_lengths)
        return self.o_map(unfold_heads(torch.bmm(weights, v), self.heads))


class AddThenNorm(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)

    def forward(self, x, update):
        return self.norm(x + update)


class EncoderBlock(nn.Module):
    def __init__(self, width, heads, hidden):
        super().__init__()
        self.attention = FoldedAttention(width, heads)
        self.after_attention = AddThenNorm(width)
        self.expand, self.shrink = nn.Linear(width, hidden), nn.Linear(hidden, width)
        self.after_ffn = AddThenNorm(width)

    def forward(self, x, lengths):
        x = self.after_attention(x, self.attention(x, lengths))
        return self.after_ffn(x, self.shrink(torch.relu(self.expand(x))))


class FoldedEncoder(nn.Module):
    def __init__(self, vocab=44, width=32, heads=4, hidden=64, depth=2, longest=64):
        super().__init__()
        self.width = width
        self.embedding = nn.Embedding(vocab, width)
        angle = torch.arange(longest)[:, None] / torch.pow(10000, torch.arange(0, width, 2) / width)
        self.table = torch.zeros(1, longest, width)
        self.table[0, :, 0::2], self.table[0, :, 1::2] = torch.sin(angle), torch.cos(angle)
        self.stack = nn.Sequential(*[EncoderBlock(width, heads, hidden) for _ in range(depth)])

    def forward(self, tokens, valid_lens=None):
        x = self.embedding(tokens) * math.sqrt(self.width) + self.table[:, : tokens.shape[1]]
        for block in self.stack:
            x = block(x, valid_lens)
        return x


CAUSAL = False


def build(seed=0, depth=2):
    torch.manual_seed(seed)
    return FoldedEncoder(depth=depth).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(1, 44, (2, 12), generator=gen),
            "forward_kwargs": {"valid_lens": torch.tensor([12, 8])}}
