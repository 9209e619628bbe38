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
# # Lab 3: positional encodings — sinusoidal, learned, RoPE, ALiBi
#
# Self-attention is permutation-equivariant: shuffle the tokens and the outputs are shuffled the
# same way. Word order only exists for the model through a positional signal. We plot the four
# kinds and verify the property that motivates each.

# %%
import matplotlib.pyplot as plt
import torch
from _lab import OUT, QUICK, show

import scratchformers as sf

torch.manual_seed(0)
max_len, d_model = (64, 32) if QUICK else (128, 64)

# %% [markdown]
# ## The four encodings

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 3.5))
axes[0].imshow(sf.SinusoidalPositionalEncoding(d_model, max_len).pe[0].T, aspect="auto", cmap="RdBu")
axes[0].set_title("sinusoidal (dims x positions)")
axes[1].imshow(sf.LearnedPositionalEmbedding(max_len, d_model).weight.detach().T, aspect="auto", cmap="RdBu")
axes[1].set_title("learned (random before training)")
rope = sf.RotaryEmbedding(16)
query = torch.ones(1, 1, 1, 16)
key = torch.ones(1, 1, 1, 16)
scores = []
for distance in range(max_len):
    qm, _ = rope(query, query, torch.tensor([distance]))
    _, k0 = rope(key, key, torch.tensor([0]))
    scores.append((qm * k0).sum().item())
axes[2].plot(scores)
axes[2].set_title("RoPE: q.k vs relative distance")
axes[3].imshow(sf.ALiBi(8)(16, 16)[0], cmap="viridis")
axes[3].set_title("ALiBi bias, head 0")
fig.tight_layout()
show(fig, "lab3_positional.png")

# %% [markdown]
# ## RoPE: scores depend only on relative position

# %%
q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)


def rope_score(m, n):
    qm, _ = rope(q, q, torch.tensor([m]))
    _, kn = rope(k, k, torch.tensor([n]))
    return (qm * kn).sum().item()


print("positions (3, 1):", round(rope_score(3, 1), 5), " positions (53, 51):", round(rope_score(53, 51), 5))

# %% [markdown]
# ## No positional signal = permutation-equivariant

# %%
ids = torch.randint(0, 100, (1, 12))
perm = torch.randperm(12)
for kind in ("none", "sinusoidal", "learned", "rope", "alibi"):
    torch.manual_seed(0)
    enc = sf.TransformerEncoder(sf.EncoderConfig(vocab_size=100, num_layers=2, num_heads=4, d_model=d_model, d_ff=4 * d_model, dropout=0.0, positional=kind)).eval()
    with torch.no_grad():
        same = torch.allclose(enc(ids).last_hidden_state[:, perm], enc(ids[:, perm]).last_hidden_state, atol=1e-5)
    print(f"{kind:>10}: outputs merely permuted = {same}")
    assert same == (kind == "none")

# %% [markdown]
# ## Magnitude matters: a positional signal scaled to 1e-4 is as good as none

# %%
emb = torch.nn.Embedding(100, d_model)
pe = sf.SinusoidalPositionalEncoding(d_model, max_len).pe[0, :12]
print(f"token embedding norm {emb.weight.norm(dim=-1).mean():.2f}, sinusoidal PE norm {pe.norm(dim=-1).mean():.2f}, "
      f"PE * 1e-4 norm {(pe * 1e-4).norm(dim=-1).mean():.5f}")
