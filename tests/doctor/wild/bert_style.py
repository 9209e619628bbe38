"""A BERT-style encoder: word + position + segment embeddings, LayerNorm, post-LN blocks, padded
batches with an attention_mask (1 = real token), a pooled [CLS] output beside the hidden states."""

import math

import torch
import torch.nn as nn


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden_states, attention_mask):
        q = self.split(self.query(hidden_states))
        k = self.split(self.key(hidden_states))
        v = self.split(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2))
        scores = scores / math.sqrt(self.head_dim)
        keep = attention_mask[:, None, None, :].bool()
        scores = scores.masked_fill(~keep, -1e9)
        probs = nn.functional.softmax(scores, dim=-1)
        context = torch.matmul(probs, v)
        b, h, t, d = context.shape
        return context.transpose(1, 2).reshape(b, t, h * d)


class Layer(nn.Module):
    def __init__(self, hidden, heads, intermediate):
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, attention_mask):
        attended = self.attn_out(self.attention(x, attention_mask))
        x = self.attn_norm(x + attended)
        x = self.out_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))
        return x


class TinyBert(nn.Module):
    def __init__(self, vocab=60, hidden=32, heads=4, layers=2, intermediate=64, max_positions=40, type_vocab=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_positions, hidden)
        self.token_type_embeddings = nn.Embedding(type_vocab, hidden)
        self.emb_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden, heads, intermediate) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        b, t = input_ids.shape
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        positions = torch.arange(t, device=input_ids.device).expand(b, t)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        x = x + self.token_type_embeddings(token_type_ids)
        x = self.emb_norm(x)
        for layer in self.layers:
            x = layer(x, attention_mask)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return {"last_hidden_state": x, "pooler_output": pooled}


CAUSAL = False


def build(seed=0, layers=2):
    torch.manual_seed(seed)
    return TinyBert(layers=layers).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (2, 12), generator=gen)
    segments = torch.zeros_like(ids)
    segments[:, 6:] = 1  # sentence A, then sentence B
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # the second example is padded
    ids[1, 9:] = 0
    return {"input_ids": ids, "forward_kwargs": {"token_type_ids": segments, "attention_mask": mask}}
