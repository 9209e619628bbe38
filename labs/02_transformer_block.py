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
# # Lab 2: the transformer block, Pre-LN vs Post-LN, and a stack of 6 layers
#
# A block is attention + feed-forward, each inside a residual connection with a LayerNorm.
# **Post-LN** (the original paper, BERT) normalises after the residual sum; **Pre-LN** (GPT-2,
# Llama) normalises the sublayer input and leaves the residual stream untouched, which keeps
# gradients healthy in deep stacks. We check our block against PyTorch's own layer, stack six of
# them, and compare how gradients reach the first layer.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from _lab import OUT, QUICK

import scratchformers as sf

torch.manual_seed(0)
d_model, heads, d_ff = 64, 4, 256

# %% [markdown]
# ## Same numbers as `torch.nn.TransformerEncoderLayer`
#
# A block is assembled from the sublayers it is given: an attention module, a feed-forward module
# and two norms. It only wires them into the residuals, so swapping in RMSNorm or a SwiGLU MLP is a
# matter of passing other modules.

# %%
for norm_first in (False, True):
    ref = torch.nn.TransformerEncoderLayer(d_model, heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first).eval()
    block = sf.TransformerBlock(
        self_attn=sf.MultiHeadAttention(d_model, heads),
        ffn=sf.FeedForward(d_model, d_ff, "relu"),
        attn_norm=sf.LayerNorm(d_model),
        ffn_norm=sf.LayerNorm(d_model),
        norm_first=norm_first,
    ).eval()
    with torch.no_grad():
        for ours, w, b in zip(
            (block.self_attn.q_proj, block.self_attn.k_proj, block.self_attn.v_proj),
            ref.self_attn.in_proj_weight.chunk(3),
            ref.self_attn.in_proj_bias.chunk(3),
        ):
            ours.weight.copy_(w)
            ours.bias.copy_(b)
        block.self_attn.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
        block.ffn.up_proj.load_state_dict(ref.linear1.state_dict())
        block.ffn.down_proj.load_state_dict(ref.linear2.state_dict())
        block.attn_norm.load_state_dict(ref.norm1.state_dict())
        block.ffn_norm.load_state_dict(ref.norm2.state_dict())
    x = torch.randn(2, 10, d_model)
    diff = (block(x)[0] - ref(x)).abs().max().item()
    print(f"norm_first={norm_first}: max |ours - torch| = {diff:.2e}")
    assert diff < 1e-4

# %% [markdown]
# The models describe their block once with a `BlockSpec` (sizes and the few choices that differ
# between architectures) and build every layer from it. A Llama block, for example:

# %%
llama_block = sf.BlockSpec(d_model, heads, d_ff, num_kv_heads=2, activation="swiglu", norm="rmsnorm", bias=False,
                           causal=True).build()
print(type(llama_block.attn_norm).__name__, llama_block.ffn.activation, llama_block.self_attn.num_kv_heads, "KV heads")

# %% [markdown]
# ## A stack of 6 layers: the encoder

# %%
layers = 6
encoder = sf.TransformerEncoder(sf.EncoderConfig(vocab_size=100, num_layers=layers, num_heads=heads, d_model=d_model, d_ff=d_ff))
ids = torch.randint(0, 100, (2, 12))
print("encoder output", tuple(encoder(ids).last_hidden_state.shape), f"{encoder.num_parameters():,} parameters")

# %% [markdown]
# ## Gradient reaching each layer, Pre-LN vs Post-LN, in a deeper stack

# %%
depth = 6 if QUICK else 24
norms = {}
for norm_first in (True, False):
    torch.manual_seed(0)
    cfg = sf.EncoderConfig(vocab_size=100, num_layers=depth, num_heads=heads, d_model=d_model, d_ff=d_ff, dropout=0.0, norm_first=norm_first)
    model = sf.TransformerEncoder(cfg)
    model(ids).last_hidden_state.pow(2).mean().backward()
    norms["Pre-LN" if norm_first else "Post-LN"] = [b.self_attn.q_proj.weight.grad.norm().item() for b in model.blocks]
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in norms.items():
    ax.semilogy(range(depth), values, marker="o", label=name)
ax.set_xlabel("layer")
ax.set_ylabel("|grad| of W_q")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "lab2_gradients.png")
print({k: f"first/last layer grad ratio {v[0] / v[-1]:.2f}" for k, v in norms.items()})
