"""A decoder written with einsum: one qkv projection reshaped to (B, T, 3, H, D) and unbound,
scores 'bhid,bhjd->bhij', a boolean mask applied with torch.where, heads merged by permute."""

import torch
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.dim_head = heads, dim // heads
        self.to_qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.to_qkv(x).reshape(b, n, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        sim = torch.einsum("bhid,bhjd->bhij", q, k) * self.dim_head ** -0.5
        allowed = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        sim = torch.where(allowed, sim, torch.finfo(sim.dtype).min)
        attn = sim.softmax(dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        out = out.permute(0, 2, 1, 3).reshape(b, n, -1)
        return self.to_out(out)


class Layer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = self.attn(self.norm1(x)) + x
        return self.ff(self.norm2(x)) + x


class EinsumLM(nn.Module):
    def __init__(self, num_tokens=52, dim=32, depth=2, heads=4, max_seq_len=32):
        super().__init__()
        self.token_emb = nn.Embedding(num_tokens, dim)
        self.pos_emb = nn.Parameter(torch.randn(max_seq_len, dim) * 0.02)
        self.layers = nn.ModuleList([Layer(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.to_logits = nn.Linear(dim, num_tokens)

    def forward(self, x):
        n = x.shape[1]
        x = self.token_emb(x)
        x = x + self.pos_emb[:n]
        for layer in self.layers:
            x = layer(x)
        return self.to_logits(self.norm(x))


CAUSAL = True


def build(seed=0, depth=2):
    torch.manual_seed(seed)
    return EinsumLM(depth=depth).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(0, 52, (2, 12), generator=gen), "forward_kwargs": {}}
