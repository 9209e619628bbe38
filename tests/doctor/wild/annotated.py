"""An encoder-decoder in the style of the Annotated Transformer: ``clones(...)``, a list of four
linears in the attention (``linears[i]``), sublayer wrappers (pre-norm residual), a hand-written
LayerNorm, a sinusoidal ``pe`` buffer of shape (1, max_len, d) and src/tgt masks passed in."""

import copy
import math

import torch
import torch.nn as nn


def clones(module, n):
    return nn.ModuleList(copy.deepcopy(module) for _ in range(n))


def subsequent_mask(size):
    ahead = torch.triu(torch.ones(1, size, size), diagonal=1)
    return ahead == 0  # True where a query may look


def scaled_attention(q, k, v, mask=None):
    scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = scores.softmax(dim=-1)
    return weights.matmul(v), weights


class MultiHeadedAttention(nn.Module):
    def __init__(self, h, d_model):
        super().__init__()
        self.h, self.d_k = h, d_model // h
        self.linears = clones(nn.Linear(d_model, d_model), 4)  # q, k, v, output

    def forward(self, query, key, value, mask=None):
        if mask is not None:
            mask = mask.unsqueeze(1)  # one mask for every head
        n = query.size(0)
        projected = []
        for lin, t in zip(self.linears, (query, key, value)):
            projected.append(lin(t).view(n, -1, self.h, self.d_k).transpose(1, 2))
        q, k, v = projected
        x, self.last_weights = scaled_attention(q, k, v, mask)
        x = x.transpose(1, 2).contiguous().view(n, -1, self.h * self.d_k)
        return self.linears[3](x)


class LayerNorm(nn.Module):
    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(features))
        self.shift = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        sigma = x.std(-1, keepdim=True)
        return self.gain * (x - mu) / (sigma + self.eps) + self.shift


class SublayerConnection(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.norm = LayerNorm(size)

    def forward(self, x, sublayer):
        return x + sublayer(self.norm(x))


class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.inner, self.outer = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.outer(self.inner(x).relu())


class EncoderLayer(nn.Module):
    def __init__(self, size, self_attn, feed_forward):
        super().__init__()
        self.self_attn, self.feed_forward = self_attn, feed_forward
        self.sublayer = clones(SublayerConnection(size), 2)

    def forward(self, x, mask):
        x = self.sublayer[0](x, lambda y: self.self_attn(y, y, y, mask))
        return self.sublayer[1](x, self.feed_forward)


class DecoderLayer(nn.Module):
    def __init__(self, size, self_attn, src_attn, feed_forward):
        super().__init__()
        self.self_attn, self.src_attn, self.feed_forward = self_attn, src_attn, feed_forward
        self.sublayer = clones(SublayerConnection(size), 3)

    def forward(self, x, memory, src_mask, tgt_mask):
        x = self.sublayer[0](x, lambda y: self.self_attn(y, y, y, tgt_mask))
        x = self.sublayer[1](x, lambda y: self.src_attn(y, memory, memory, src_mask))
        return self.sublayer[2](x, self.feed_forward)


class Stack(nn.Module):
    def __init__(self, layer, n, size):
        super().__init__()
        self.layers = clones(layer, n)
        self.norm = LayerNorm(size)

    def forward(self, x, *args):
        for layer in self.layers:
            x = layer(x, *args)
        return self.norm(x)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        freqs = torch.pow(10000.0, -torch.arange(0, d_model, 2) / d_model)
        angles = torch.arange(max_len)[:, None] * freqs[None, :]
        table = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1)  # sin on even, cos on odd features
        self.register_buffer("pe", table[None])

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class Embeddings(nn.Module):
    def __init__(self, d_model, vocab):
        super().__init__()
        self.lookup = nn.Embedding(vocab, d_model)
        self.d_model = d_model

    def forward(self, x):
        return self.lookup(x) * math.sqrt(self.d_model)


class EncoderDecoder(nn.Module):
    def __init__(self, src_vocab=30, tgt_vocab=30, n=2, d_model=32, d_ff=64, h=4):
        super().__init__()
        attn, ff = MultiHeadedAttention(h, d_model), FeedForward(d_model, d_ff)
        c = copy.deepcopy
        self.encoder = Stack(EncoderLayer(d_model, c(attn), c(ff)), n, d_model)
        self.decoder = Stack(DecoderLayer(d_model, c(attn), c(attn), c(ff)), n, d_model)
        self.src_embed = nn.Sequential(Embeddings(d_model, src_vocab), PositionalEncoding(d_model))
        self.tgt_embed = nn.Sequential(Embeddings(d_model, tgt_vocab), PositionalEncoding(d_model))
        self.generator = nn.Linear(d_model, tgt_vocab)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask, tgt_mask):
        memory = self.encoder(self.src_embed(src), src_mask)
        out = self.decoder(self.tgt_embed(tgt), memory, src_mask, tgt_mask)
        return self.generator(out)


CAUSAL = True


def build(seed=0, n=2):
    torch.manual_seed(seed)
    return EncoderDecoder(n=n).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(1, 30, (2, 9), generator=gen)
    tgt = torch.randint(1, 30, (2, 12), generator=gen)
    src_mask = (src != 0).unsqueeze(-2)
    tgt_mask = subsequent_mask(tgt.size(-1))
    return {"input_ids": tgt, "input_arg": "tgt",
            "forward_kwargs": {"src": src, "src_mask": src_mask, "tgt_mask": tgt_mask}}
