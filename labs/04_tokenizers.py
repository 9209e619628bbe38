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
# # Lab 4: training a BPE tokenizer from scratch, and the vocabulary-size trade-off
#
# Byte-Pair Encoding starts from characters (or bytes) and repeatedly merges the most frequent
# adjacent pair into a new token. We run the first merges by hand on a toy corpus, check them
# against `sf.BPETokenizer`, train a GPT-2-style byte-level BPE on Rotten Tomatoes (and confirm
# that Hugging Face `tokenizers` learns the very same merges), then measure what a bigger
# vocabulary buys: fewer tokens per text, at the price of more embedding rows.

# %%
from collections import Counter

import matplotlib.pyplot as plt
from _lab import OUT, QUICK, show

import scratchformers as sf
from scratchformers.assets import asset_path, rotten_tomatoes
from scratchformers.tokenizers.compare import compare_vocab_sizes, distinct_sizes, format_table

texts, _ = rotten_tomatoes()
texts = texts[:2000] if QUICK else texts
print(f"{len(texts)} Rotten Tomatoes snippets, {sum(map(len, texts)) / 1e6:.2f} M characters")

# %% [markdown]
# ## The first merges by hand
# Sennrich's toy corpus: words as character sequences ending with `</w>`, weighted by frequency.
# Count adjacent pairs, merge the most frequent one everywhere, repeat.

# %%
toy = "low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3
words = Counter(tuple(w) + ("</w>",) for w in toy.split())


def most_frequent_pair(words: Counter) -> tuple[str, str]:
    pairs = Counter()
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] += count
    return max(pairs, key=pairs.get)  # ties: the pair seen first (Counter keeps insertion order)


def merge(words: Counter, pair: tuple[str, str]) -> Counter:
    merged = Counter()
    for word, count in words.items():
        out, i = [], 0
        while i < len(word):
            if word[i : i + 2] == pair:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        merged[tuple(out)] += count
    return merged


by_hand = []
for _ in range(6):
    pair = most_frequent_pair(words)
    by_hand.append(pair)
    words = merge(words, pair)
print("merges by hand:", by_hand)

toy_tok = sf.BPETokenizer.train([toy], vocab_size=200, min_frequency=1, show_progress=False)
print("sf.BPETokenizer merges:", toy_tok.merges[:6])
assert toy_tok.merges[:6] == by_hand
print("'lowest' ->", toy_tok.tokenize("lowest"), "(a word never seen, built from learned pieces)")

# %% [markdown]
# ## Byte-level BPE on real text (GPT-2 style)
# Bytes instead of characters: the 256 initial symbols cover every string, so there is never an
# unknown token. Text is first split by GPT-2's regex (words, numbers, punctuation, spaces), and
# merges never cross those pieces.

# %%
vocab_size = 1000 if QUICK else 8000
tok = sf.ByteLevelBPETokenizer.train(texts, vocab_size, show_progress=False)
sentence = "An unexpectedly moving, beautifully shot film."
ids = tok.encode(sentence)
print(len(ids), "tokens:", tok.tokenize(sentence))
assert tok.decode(ids) == sentence  # lossless round trip

# %% [markdown]
# The trainer mirrors Hugging Face `tokenizers`' `BpeTrainer`, so the merges are identical:

# %%
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

hf = Tokenizer(models.BPE())
hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
hf.decoder = decoders.ByteLevel()
hf.train_from_iterator(texts, trainers.BpeTrainer(
    vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"], show_progress=False,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
print("same ids as HF tokenizers:", hf.encode(sentence).ids == ids)
assert hf.encode(sentence).ids == ids

# %% [markdown]
# ## The vocabulary-size trade-off
# Train each kind at several sizes on 90% of the snippets and measure the held-out 10%:
# bytes per token (compression), unknown tokens, training time. Word-level needs a huge vocabulary
# to avoid unknown words; BPE falls back to smaller pieces.

# %%
sizes = (300, 1000, 3000) if QUICK else (500, 1000, 4000, 16000)
rows = compare_vocab_sizes(texts, sizes, ("wordlevel", "bpe", "bytelevel"))
print(format_table(rows))

# %%
gpt2 = sf.load_tokenizer(asset_path("gpt2-tokenizer"))
heldout = texts[-len(texts) // 10 :]
gpt2_bpt = sum(len(t.encode()) for t in heldout) / sum(len(gpt2.encode(t)) for t in heldout)
d_model = 768
fig, (ax_bpt, ax_unk, ax_cost) = plt.subplots(1, 3, figsize=(15, 4))
for kind in ("wordlevel", "bpe", "bytelevel"):
    sub = distinct_sizes(rows, kind)  # a saturated word-level vocabulary is one point, not a vertical line
    ax_bpt.plot([r["vocab_size"] for r in sub], [r["bytes_per_token"] for r in sub], "o-", label=kind)
    ax_unk.plot([r["vocab_size"] for r in sub], [r["unknown_per_kb"] for r in sub], "o-", label=kind)
ax_bpt.axhline(gpt2_bpt, ls="--", color="gray", label=f"GPT-2's 50257 tokens: {gpt2_bpt:.2f}")
ax_bpt.set(xscale="log", xlabel="vocabulary size (reached)", ylabel="bytes per token (held out)",
           title="compression grows with the vocabulary")
ax_bpt.legend(fontsize=8)
ax_unk.set(xscale="log", xlabel="vocabulary size (reached)", ylabel="unknown tokens per 1000 bytes",
           title="word-level pays with unknown words")
ax_unk.legend(fontsize=8)
byte_rows = [r for r in rows if r["kind"] == "bytelevel"]
ax_cost.plot([r["vocab_size"] for r in byte_rows], [r["vocab_size"] * d_model / 1e6 for r in byte_rows], "o-")
ax_cost.set(xlim=(0, None), ylim=(0, None), xlabel="vocabulary size",
            ylabel="embedding parameters (M), d_model=768",
            title="...and the embedding matrix grows linearly")  # linear axes: a straight line through 0
fig.tight_layout()
show(fig, "lab4_vocab_tradeoff.png")

# %% [markdown]
# Take-aways: each doubling of the vocabulary buys less compression than the one before, while
# the embedding (and output) matrix grows linearly. Word-level vocabularies pay with unknown
# words (its bytes/token is flat: always one token per word, known or not), and they saturate: the
# corpus has only so many distinct words, so asking for more gives the same vocabulary (the table
# marks it with `*`, the plot draws it once). Byte-level BPE never produces an unknown token.
# Classic BPE's few unknown tokens are characters it never saw in training; their number is the same
# at every size, which is why the figure counts them per 1000 bytes: per token (the table's
# `unknown %`) the same count looks like a rate that rises, only because a larger vocabulary needs
# fewer tokens. GPT-2's general 50k vocabulary is the yardstick: a domain tokenizer gets close to it
# with a fraction of the embedding rows.
