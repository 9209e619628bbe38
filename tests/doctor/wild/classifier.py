"""A sentence classifier on nn.TransformerEncoder (batch-first, pre-norm), with a learned
position table, a key-padding mask (True = padding) and masked mean pooling."""

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, vocab=70, d=32, heads=4, layers=2, classes=3, max_len=50):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Embedding(max_len, d)
        block = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, ids, padding_mask=None):
        if padding_mask is None:
            padding_mask = ids == 0
        x = self.embed(ids) + self.pos(torch.arange(ids.size(1), device=ids.device))
        x = self.encoder(x, src_key_padding_mask=padding_mask)
        keep = (~padding_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.head(pooled)


CAUSAL = False


def build(seed=0, layers=2):
    torch.manual_seed(seed)
    return Classifier(layers=layers).eval()


def example(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 70, (2, 12), generator=gen)
    ids[1, 8:] = 0
    return {"input_ids": ids, "forward_kwargs": {"padding_mask": ids == 0}}
