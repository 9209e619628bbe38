# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # Lab 1: attention from scratch
#
# Scaled dot-product attention is `softmax(Q K^T / sqrt(d_k)) V`, the softmax taken over the
# **key** axis so that each query's weights sum to 1. We compute it by hand, compare it with
# `scratchformers.scaled_dot_product_attention` (both of its paths) and with PyTorch's fused
# kernel, then look at the weights.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _lab import OUT, QUICK, show

import scratchformers as sf
from scratchformers.assets import asset_path
from scratchformers.viz import collect_attention

torch.manual_seed(0)
seq, d_k = (6, 8) if QUICK else (10, 16)
q, k, v = torch.randn(1, seq, d_k), torch.randn(1, seq, d_k), torch.randn(1, seq, d_k)

# %% [markdown]
# ## By hand

# %%
scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (1, seq, seq): one row per query
weights = torch.softmax(scores, dim=-1)  # normalise over keys
by_hand = weights @ v
print("rows sum to", weights.sum(-1))

# %% [markdown]
# ## The library, both paths, and PyTorch

# %%
fused = sf.scaled_dot_product_attention(q, k, v)
math_path, lib_weights = sf.scaled_dot_product_attention(q, k, v, return_weights=True)
reference = F.scaled_dot_product_attention(q, k, v)
print("max |by hand - fused|    ", (by_hand - fused).abs().max().item())
print("max |by hand - math path|", (by_hand - math_path).abs().max().item())
print("max |by hand - torch|    ", (by_hand - reference).abs().max().item())
assert torch.allclose(by_hand, fused, atol=1e-5) and torch.allclose(lib_weights, weights, atol=1e-6)

# %% [markdown]
# ## Why scale by sqrt(d_k)?
# Without the scale, the variance of the scores grows with `d_k` and the softmax saturates:
# one key takes almost all the weight and gradients vanish.

# %%
for dim in (16, 256, 1024):
    a, b = torch.randn(1000, dim), torch.randn(1000, dim)
    raw = (a * b).sum(-1)
    print(f"d_k={dim:5d}  var(q.k)={raw.var():8.1f}  var(q.k/sqrt(d_k))={(raw / math.sqrt(dim)).var():.2f}")

# %% [markdown]
# ## Masks: causal and padding (True = may attend)

# %%
causal = sf.causal_mask(seq)
out, causal_weights = sf.scaled_dot_product_attention(q, k, v, causal, return_weights=True)
assert torch.all(causal_weights[0].triu(1) == 0), "a causal model must not look at the future"
pad = sf.padding_mask(torch.tensor([[1] * (seq - 2) + [0, 0]]))
_, pad_weights = sf.scaled_dot_product_attention(q[None], k[None], v[None], pad, return_weights=True)
print("weight on padded keys:", pad_weights[..., -2:].abs().max().item())

# %% [markdown]
# ## Multi-head self-attention with random weights
# Before training, the weights are random: the patterns below carry no meaning, they only show the
# shape of causal attention (nothing above the diagonal) and that each row sums to 1.

# %%
mha = sf.MultiHeadAttention(d_model=32, num_heads=4)
x = torch.randn(1, seq, 32)
_, head_weights = mha(x, is_causal=True, need_weights=True)  # (1, heads, seq, seq)
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), sharey=True)
for h, ax in enumerate(axes):
    image = ax.imshow(head_weights[0, h].detach(), cmap="viridis", vmin=0, vmax=1)
    ax.set(title=f"head {h}", xlabel="key position (attended to)")
axes[0].set_ylabel("query position")
fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
fig.suptitle("causal multi-head attention weights (random init)")
show(fig, "lab1_attention_heads.png")

# %% [markdown]
# ## A pretrained model on a real sentence
# MiniLM (a 6-layer BERT) from the offline asset. Its tokenizer adds `[CLS]` at the start and `[SEP]`
# at the end, as in training; keep them: many heads park most of their weight on `[SEP]` or `[CLS]`
# when they have nothing specific to look at, and without those tokens that weight would land on a
# real word and suggest a link that is not there.

# %%
minilm = asset_path("minilm")
bert_tokenizer, bert = sf.load_tokenizer(minilm), sf.from_pretrained(minilm).eval()
sentence = "the film was not good, it was surprisingly moving"
ids = bert_tokenizer.encode(sentence)  # [CLS] ... [SEP]
tokens = [bert_tokenizer.id_to_token(i) for i in ids]
attentions = collect_attention(bert, torch.tensor([ids]))  # per layer (1, heads, T, T)
print(len(attentions), "layers,", attentions[0].shape[1], "heads;", " ".join(tokens))
assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
assert all(torch.allclose(a.sum(-1), torch.ones(a.shape[:-1]), atol=1e-5) for a in attentions)
picks = [(0, 0), (2, 3), (5, 3), (5, 9)]  # (layer, head)
fig, axes = plt.subplots(1, len(picks), figsize=(4.2 * len(picks), 4.4), sharey=True)
for ax, (layer, head) in zip(axes, picks):
    weights = attentions[layer][0, head]
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set(title=f"layer {layer}, head {head}", xlabel="key (attended to)")
    print(f"layer {layer} head {head}: share of weight on [CLS]/[SEP] "
          f"{(weights[:, 0] + weights[:, -1]).mean().item():.2f}")
axes[0].set_ylabel("query (attending)")
fig.colorbar(image, ax=axes, shrink=0.7, label="attention weight")
fig.suptitle(f"pretrained MiniLM: {sentence!r}")
show(fig, "lab1_minilm_attention.png")
