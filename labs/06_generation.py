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
# # Lab 6: text generation with a GPT, every decoding strategy
#
# A language model gives a probability for every next token; a *decoding strategy* turns those
# probabilities into text. We use SmolLM2-135M (a Llama-style GPT, loaded from its GGUF file) and
# look at: greedy decoding, temperature, top-k, top-p (nucleus), the repetition penalty and beam
# search, scoring how repetitive each output is. Last, the KV cache: why generation keeps the keys
# and values of past tokens, timed with and without it.

# %%
import time

import matplotlib.pyplot as plt
import torch
from _lab import OUT, QUICK, show

import scratchformers as sf
from scratchformers.generation import processors
from scratchformers.hub import cached_safetensors

if QUICK:  # the test suite runs labs next to other jobs: one thread avoids oversubscribed, spinning cores
    torch.set_num_threads(1)
torch.manual_seed(0)
folder = cached_safetensors("smollm2-135m")  # the GGUF, dequantised once into a cache folder
model, tokenizer = sf.from_pretrained(folder), sf.load_tokenizer_for(folder)
print(f"{type(model).__name__}: {model.num_parameters() / 1e6:.0f}M parameters, vocabulary {tokenizer.vocab_size}")
new_tokens = 3 if QUICK else 40
prompt = "Once upon a time, in a small village,"
prompt_ids = torch.tensor([tokenizer.encode(prompt)])  # (1, prompt_len)

# %% [markdown]
# ## The next-token distribution, and what temperature does to it
# Sampling divides the logits by a temperature T before the softmax: T < 1 sharpens the
# distribution towards the most likely token, T > 1 flattens it.

# %%
with torch.no_grad():
    logits = model(prompt_ids).logits[0, -1]  # (vocab,) scores for the next token
top = logits.topk(12)
words = [repr(tokenizer.decode([i])) for i in top.indices.tolist()]
fig, ax = plt.subplots(figsize=(10, 4))
for offset, t in zip((-0.27, 0, 0.27), (0.5, 1.0, 1.5)):
    probs = processors.temperature(logits[None], t).softmax(-1)[0]
    ax.bar([i + offset for i in range(12)], probs[top.indices], width=0.27, label=f"T = {t}")
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
    print(f"T={t}: p(top token)={probs[top.indices[0]]:.3f}, entropy {entropy:.2f} nats")
ax.set_xticks(range(12), words, rotation=45)
ax.set(ylabel="probability", title=f"next token after {prompt!r}")
ax.legend()
fig.tight_layout()
show(fig, "lab6_temperature.png")

# %% [markdown]
# ## Top-k and top-p keep only the head of the distribution
# The processors are plain functions on the scores; `-inf` marks the removed tokens.

# %%
for name, filtered in {
    "top-k, k=50": processors.top_k(logits[None], 50),
    "top-p, p=0.9": processors.top_p(logits[None], 0.9),
    "top-p, p=0.5": processors.top_p(logits[None], 0.5),
}.items():
    kept = torch.isfinite(filtered).sum().item()
    print(f"{name:<14} keeps {kept:>5} of {logits.numel()} tokens")

# %% [markdown]
# ## Every strategy on the same prompt
# Greedy and beam search are deterministic; the sampled ones use a fixed seed. The repeated 3-gram
# rate (the share of 3-grams that repeat an earlier one) measures the loops greedy decoding falls
# into; the repetition penalty divides the scores of tokens already generated.

# %%
strategies = {
    "greedy": {},
    "temperature 0.7": {"do_sample": True, "temperature": 0.7},
    "top-k 50": {"do_sample": True, "top_k": 50},
    "top-p 0.9": {"do_sample": True, "top_p": 0.9},
    "greedy + repetition penalty 1.3": {"repetition_penalty": 1.3},
    "beam search": {"num_beams": 2 if QUICK else 4},
}
results = {}
for name, kwargs in strategies.items():
    generator = torch.Generator().manual_seed(0)
    out = sf.generate(model, prompt_ids, max_new_tokens=new_tokens, generator=generator, **kwargs)
    new_ids = out[0, prompt_ids.shape[1] :]
    report = sf.repetition_report(new_ids)
    results[name] = report.repeated_ngram_rate
    print(f"--- {name}: repeated 3-gram rate {report.repeated_ngram_rate:.2f}")
    print(prompt + tokenizer.decode(new_ids.tolist()))

# %% [markdown]
# Greedy decoding is the argmax at every step, so it must equal a loop written by hand:

# %%
ids = prompt_ids
for _ in range(min(new_tokens, 3)):
    with torch.no_grad():
        ids = torch.cat([ids, model(ids).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
greedy = sf.generate(model, prompt_ids, max_new_tokens=min(new_tokens, 3))
assert torch.equal(ids, greedy)
print("sf.generate greedy == hand-written argmax loop")

# %% [markdown]
# ## The KV cache
# Without a cache every step re-runs the whole sequence (quadratic work); with it, each step runs
# only the new token against the stored keys and values. Same tokens, different cost.

# %%
lengths = (2, 4) if QUICK else (16, 32, 64, 128)
timings = {True: [], False: []}
for n in lengths:
    outputs = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        outputs[use_cache] = sf.generate(model, prompt_ids, max_new_tokens=n, use_cache=use_cache)
        timings[use_cache].append(time.perf_counter() - start)
    assert torch.equal(outputs[True], outputs[False])  # the cache changes the cost, not the result
    print(f"{n:>4} new tokens: cache {timings[True][-1]:.2f} s, no cache {timings[False][-1]:.2f} s")
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(lengths, timings[True], "o-", label="KV cache")
ax.plot(lengths, timings[False], "o-", label="no cache (recompute everything)")
ax.set(xlabel="new tokens", ylabel="seconds", title="SmolLM2-135M greedy generation on CPU")
ax.legend()
fig.tight_layout()
show(fig, "lab6_kv_cache.png")
