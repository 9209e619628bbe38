"""Small transformers written the way a student writes them, each able to carry ONE planted bug.

``StudentLM(bug=...)`` is a GPT-style (or, with causal=False, encoder) model; ``StudentSeq2Seq``
has a decoder with cross-attention, so queries and keys have different lengths. The ``bug`` names
match the entries of the troubleshooting guide; ``bug=None`` is the correct model.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

BUGS = {
    "softmax_dim", "no_scale", "leak_one", "inverted_mask", "no_pos", "pos_after", "pos_tiny", "nan_layer",
    "functional_dropout", "kq_transposed",
}


class SelfAttention(nn.Module):
    def __init__(self, d_model, n_heads, causal, bug=None, dropout=0.0):
        super().__init__()
        self.n_heads, self.causal, self.bug = n_heads, causal, bug
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, hd)

    def forward(self, x, context=None):
        B, T, C = x.shape
        src = x if context is None else context
        q, k, v = self.heads(self.query(x)), self.heads(self.key(src)), self.heads(self.value(src))
        if self.bug == "kq_transposed":
            att = k @ q.transpose(-1, -2)  # (B, H, Tk, Tq): the wrong operand transposed
        else:
            att = q @ k.transpose(-2, -1)  # (B, H, Tq, Tk)
        if self.bug != "no_scale":
            att = att / math.sqrt(k.size(-1))
        if self.causal:
            T_k = att.size(-1)
            if self.bug == "leak_one":
                blocked = torch.triu(torch.ones(T, T_k, dtype=torch.bool), diagonal=2)
            elif self.bug == "inverted_mask":
                blocked = torch.tril(torch.ones(T, T_k, dtype=torch.bool))  # True meant "keep" here
            else:
                blocked = torch.triu(torch.ones(T, T_k, dtype=torch.bool), diagonal=1)
            att = att.masked_fill(blocked, float("-inf"))
        att = F.softmax(att, dim=-2 if self.bug == "softmax_dim" else -1)
        if self.bug == "functional_dropout":
            att = F.dropout(att, 0.2)  # training defaults to True
        att = self.drop(att)
        y = att @ v  # (B, H, Tq, hd)
        y = y.transpose(1, 2).contiguous().view(B, -1, C)
        return self.proj(y)


class LogActivation(nn.Module):
    """A 'creative' activation: log of the pre-activation (NaN for negative inputs)."""

    def forward(self, x):
        return torch.log(x)


class Block(nn.Module):
    def __init__(self, d_model, n_heads, causal, bug=None, dropout=0.0, post_ln=False, cross=False):
        super().__init__()
        self.post_ln = post_ln
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, causal, bug, dropout)
        self.cross = SelfAttention(d_model, n_heads, False, bug, dropout) if cross else None
        self.ln_cross = nn.LayerNorm(d_model) if cross else None
        self.ln2 = nn.LayerNorm(d_model)
        act = LogActivation() if bug == "nan_layer" else nn.GELU()
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), act, nn.Linear(4 * d_model, d_model), nn.Dropout(dropout))

    def forward(self, x, memory=None):
        if self.post_ln:
            x = self.ln1(x + self.attn(x))
            return self.ln2(x + self.mlp(x))
        x = x + self.attn(self.ln1(x))
        if self.cross is not None:
            x = x + self.cross(self.ln_cross(x), memory)
        return x + self.mlp(self.ln2(x))


class StudentLM(nn.Module):
    def __init__(self, vocab=64, d_model=32, n_heads=4, n_layers=2, max_len=32, causal=True, bug=None,
                 dropout=0.0, post_ln=False):
        super().__init__()
        assert bug is None or bug in BUGS, bug
        self.bug = bug
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, causal, bug, dropout, post_ln) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T)
        x = self.tok_emb(idx)
        if self.bug == "pos_tiny":
            x = x + 1e-4 * self.pos_emb(pos)
        elif self.bug not in ("no_pos", "pos_after"):
            x = x + self.pos_emb(pos)
        for block in self.blocks:
            x = block(x)
        if self.bug == "pos_after":
            x = x + self.pos_emb(pos)
        return self.head(self.ln_f(x))


class StudentSeq2Seq(nn.Module):
    """Encoder over the source, decoder with self- and cross-attention over the target."""

    def __init__(self, vocab=64, d_model=32, n_heads=4, max_len=32, bug=None):
        super().__init__()
        self.emb = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.encoder = Block(d_model, n_heads, causal=False)
        self.decoder = Block(d_model, n_heads, causal=True, bug=bug, cross=True)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tgt, src):
        memory = self.encoder(self.emb(src) + self.pos(torch.arange(src.shape[1])))
        x = self.emb(tgt) + self.pos(torch.arange(tgt.shape[1]))
        return self.head(self.decoder(x, memory))


@pytest.fixture
def ids():
    return torch.randint(0, 64, (2, 10), generator=torch.Generator().manual_seed(0))


@pytest.fixture
def student():
    def make(bug=None, seed=0, **kwargs):
        torch.manual_seed(seed)
        return StudentLM(bug=bug, **kwargs).eval()

    return make


@pytest.fixture
def seq2seq():
    def make(bug=None, seed=0):
        torch.manual_seed(seed)
        return StudentSeq2Seq(bug=bug).eval()

    return make
