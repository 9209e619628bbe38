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
import matplotlib.pyplot as plt
import torch
from _lab import OUT, QUICK, show

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
#
# **A trap first.** The obvious toy loss, `last_hidden_state.pow(2).mean()`, teaches nothing here.
# Both stacks end with a LayerNorm (Pre-LN has a final one, Post-LN ends every block with one) whose
# gain is 1 and bias 0 at initialisation, so every output vector has mean 0 and variance 1: its mean
# square is 1.0 whatever the weights are. A loss that does not change when the weights change has a
# zero gradient by construction; what backpropagation returns is float rounding (1e-6 and below).
# The same trap catches any loss invariant to the scale of a normalised input.

# %%
depth = 6 if QUICK else 24
ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(0))


def encoder(norm_first: bool) -> sf.TransformerEncoder:
    torch.manual_seed(0)  # the same initial weights for both losses
    return sf.TransformerEncoder(sf.EncoderConfig(vocab_size=100, num_layers=depth, num_heads=heads, d_model=d_model,
                                                  d_ff=d_ff, dropout=0.0, norm_first=norm_first))


def gradient_norms(model, loss) -> dict[str, list[float]]:
    """|grad| of each block's query and feed-forward input weights after ``loss.backward()``."""
    loss.backward()
    return {"W_q": [b.self_attn.q_proj.weight.grad.norm().item() for b in model.blocks],
            "W_up": [b.ffn.up_proj.weight.grad.norm().item() for b in model.blocks]}


trap = {}
for norm_first in (True, False):
    model = encoder(norm_first)
    out = model(ids).last_hidden_state
    print(f"norm_first={norm_first}: mean square of the output = {out.pow(2).mean().item():.6f} (always ~1)")
    trap[norm_first] = gradient_norms(model, out.pow(2).mean())
print("trap loss, largest |grad W_q| in any layer:", f"{max(max(v['W_q']) for v in trap.values()):.1e}")

# %% [markdown]
# **A loss that means something**: regress the output onto fixed random targets (mean squared error).
# Its value depends on every weight, so the gradients measure how strongly each layer can move it.

# %%
target = torch.randn(2, 12, d_model, generator=torch.Generator().manual_seed(1))
norms, similarity = {}, {}
for norm_first in (True, False):
    name = "Pre-LN" if norm_first else "Post-LN"
    model = encoder(norm_first)
    out = model(ids).last_hidden_state
    norms[name] = gradient_norms(model, torch.nn.functional.mse_loss(out, target))
    unit = torch.nn.functional.normalize(out[0].detach(), dim=-1)  # (12, d_model) tokens of the first sequence
    similarity[name] = (unit @ unit.T)[~torch.eye(12, dtype=torch.bool)].mean().item()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, weight in zip(axes, ("W_q", "W_up")):
    for name, values in norms.items():
        ax.semilogy(range(depth), values[weight], marker="o", label=name)
    ax.set(xlabel="layer (0 = next to the embeddings)", ylabel=f"|grad| of {weight}",
           title=f"{'attention query' if weight == 'W_q' else 'feed-forward'} weights")
    ax.legend()
fig.suptitle(f"gradients of an MSE loss on random targets, {depth} layers")
fig.tight_layout()
show(fig, "lab2_gradients.png")
for name, values in norms.items():
    q = values["W_q"]
    print(f"{name:8} |grad W_q| first layer {q[0]:.1e}, last layer {q[-1]:.1e}; "
          f"mean cosine between output tokens {similarity[name]:.3f}")

# %% [markdown]
# What the figure shows (24 layers in the full lab): the feed-forward gradients stay within one order
# of magnitude in both stacks, but Post-LN's query gradients fall by orders of magnitude towards the
# top. Its token vectors grow alike layer after layer (their mean cosine similarity approaches 1), and
# when every key is the same vector the attention scores no longer change the output, so `W_q` gets
# almost no signal. Pre-LN's residual stream carries each token's own embedding up the stack, the
# tokens stay distinct, and every layer keeps learning. That is one reason deep models are Pre-LN.
