"""GPT with separate key / query / value projections per attention layer and a registered
lower-triangular ``bias`` buffer; called as ``model(idx, targets)`` it returns (logits, loss)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, d, n_heads, context):
        super().__init__()
        self.key = nn.Linear(d, d, bias=False)
        self.query = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.proj = nn.Linear(d, d)
        self.n_heads = n_heads
        self.register_buffer("bias", torch.tril(torch.ones(context, context)))

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_heads
        k = self.key(x).view(B, T, self.n_heads, hs).permute(0, 2, 1, 3)
        q = self.query(x).view(B, T, self.n_heads, hs).permute(0, 2, 1, 3)
        v = self.value(x).view(B, T, self.n_heads, hs).permute(0, 2, 1, 3)
        att = q @ k.transpose(-2, -1) * hs ** -0.5
        att = att.masked_fill(self.bias[:T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        out = att @ v
        out = out.permute(0, 2, 1, 3).reshape(B, T, C)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, d, n_heads, context):
        super().__init__()
        self.attn = SelfAttention(d, n_heads, context)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))
        self.norm_a = nn.LayerNorm(d)
        self.norm_b = nn.LayerNorm(d)

    def forward(self, x):
        x = x + self.attn(self.norm_a(x))
        x = x + self.mlp(self.norm_b(x))
        return x


class TinyGPT(nn.Module):
    def __init__(self, vocab_size=40, d=32, n_heads=4, n_layers=2, context=24):
        super().__init__()
        self.tok_table = nn.Embedding(vocab_size, d)
        self.pos_table = nn.Embedding(context, d)
        self.blocks = nn.Sequential(*[Block(d, n_heads, context) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok = self.tok_table(idx)
        pos = self.pos_table(torch.arange(T, device=idx.device))
        x = tok + pos
        x = self.blocks(x)
        logits = self.lm_head(self.norm(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


CAUSAL = True


def build(seed=0, n_layers=2):
    torch.manual_seed(seed)
    return TinyGPT(n_layers=n_layers).eval()


def example(model, seed=0, with_targets=False):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 40, (2, 12), generator=gen)
    kwargs = {"targets": torch.randint(0, 40, (2, 12), generator=gen)} if with_targets else {}
    return {"input_ids": ids, "forward_kwargs": kwargs}
