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
# # Lab 5: fine-tuning BERT (MiniLM) for sentiment, with an honest evaluation
#
# A pretrained encoder plus a fresh classification head, trained on labelled snippets from
# Rotten Tomatoes (fresh = positive, rotten = negative). We look at the data first, fine-tune with
# the package's `Trainer` (`sf.finetune` wires it up: stratified 80/10/10 split, dynamic padding,
# linear schedule with warmup), then evaluate on the held-out test split: accuracy, per-class
# precision/recall/F1 and the confusion matrix. Full fine-tuning is compared with training only
# the head.

# %%
import random

import matplotlib.pyplot as plt
import torch
from _lab import OUT, QUICK, show

import scratchformers as sf
from scratchformers.assets import ROTTEN_TOMATOES_LABELS, asset_path, rotten_tomatoes
from scratchformers.data.tables import rotten_tomatoes_data
from scratchformers.training import TrainConfig, finetune

if QUICK:  # the test suite runs labs next to other jobs: one thread avoids oversubscribed, spinning cores
    torch.set_num_threads(1)
minilm = asset_path("minilm")
tokenizer = sf.load_tokenizer(minilm)
texts, labels = rotten_tomatoes()
print(f"{len(texts)} snippets; share fresh: {sum(labels) / len(labels):.1%}")
for text, label in list(zip(texts, labels))[:3]:
    print(f"  [{ROTTEN_TOMATOES_LABELS[label]}] {text[:90]}")

# %% [markdown]
# ## Look at the data: lengths decide `max_length`
# Truncating too short silently drops the end of a review (often the verdict).

# %%
lengths = [len(tokenizer.encode(t)) for t in texts[: 500 if QUICK else 5000]]
lengths.sort()
p99 = lengths[int(0.99 * len(lengths))]
print(f"tokens per snippet: median {lengths[len(lengths) // 2]}, 99th percentile {p99}, max {lengths[-1]}")
max_length = 64

# %% [markdown]
# ## A subset to train on
# Quick mode uses a few hundred snippets and a few steps (the accuracy is then close to chance:
# the point is that the code runs). The full lab uses a few thousand.

# %%
n_examples = 160 if QUICK else 3000
chosen = random.Random(0).sample(range(len(texts)), n_examples)
data = rotten_tomatoes_data().subset(chosen)  # keeps the packaged ids: 0 = rotten, 1 = fresh
print(data.class_balance())


def config(strategy: str, lr: float) -> TrainConfig:
    return TrainConfig(
        task="classification", strategy=strategy, lr=lr, epochs=0.15 if QUICK else 1.0, batch_size=8 if QUICK else 32,
        max_length=max_length, warmup_ratio=0.1, schedule="linear", weight_decay=0.01, betas=(0.9, 0.999),
        eval_every=10**6, log_every=5, save_every=0, run_dir=str(OUT / f"lab5_{strategy}"), device="cpu", seed=0,
    )  # fmt: skip


# %% [markdown]
# ## Full fine-tuning (every weight trains, small learning rate)

# %%
torch.manual_seed(0)
model = sf.BertForSequenceClassification.from_pretrained(minilm, num_labels=2)  # warns: the head is new
full = finetune(minilm, data, config("full", 5e-5), model=model, tokenizer=tokenizer)
print(f"test accuracy {full['accuracy']:.3f}, macro-F1 {full['macro_f1']:.3f} on {full['num_examples']} snippets")

# %% [markdown]
# ## Only the head (the encoder frozen, a larger learning rate)

# %%
strategies = {"full (lr 5e-5)": full}
if not QUICK:
    frozen = finetune(minilm, data, config("frozen", 1e-3), tokenizer=tokenizer)
    strategies["frozen encoder (lr 1e-3)"] = frozen
for name, m in strategies.items():
    print(f"{name:<26} accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
          f"trainable parameters {m['trainable_parameters']:,}")

# %% [markdown]
# ## Evaluation: the confusion matrix and per-class scores
# Accuracy alone hides a classifier that always predicts one class; the confusion matrix does not.

# %%
names = full["label_names"]
matrix = torch.tensor(full["confusion_matrix"])
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.imshow(matrix, cmap="Blues")
for i in range(len(names)):
    for j in range(len(names)):
        ax.text(j, i, int(matrix[i, j]), ha="center", va="center")
ax.set(xticks=range(len(names)), xticklabels=names, yticks=range(len(names)), yticklabels=names,
       xlabel="predicted", ylabel="true", title=f"MiniLM, full fine-tuning: accuracy {full['accuracy']:.3f}")
fig.tight_layout()
show(fig, "lab5_confusion_matrix.png")
assert matrix.sum() == full["num_examples"]
assert abs(matrix.trace() / matrix.sum() - full["accuracy"]) < 1e-9  # accuracy = diagonal / total
# precision and recall recomputed from the matrix: columns = predicted, rows = true
for k, name in enumerate(names):
    precision, recall = matrix[k, k] / matrix[:, k].sum().clamp(min=1), matrix[k, k] / matrix[k].sum().clamp(min=1)
    assert abs(precision - full["precision"][k]) < 1e-6 and abs(recall - full["recall"][k]) < 1e-6
    print(f"{name:<8} precision {full['precision'][k]:.3f}  recall {full['recall'][k]:.3f}  F1 {full['f1'][k]:.3f}")

# %% [markdown]
# ## The model on new sentences

# %%
model.eval()
reviews = ["A triumph: funny, tender and beautifully acted.", "Tedious, predictable and far too long."]
batch = tokenizer.encode_batch(reviews, padding=True, return_tensors="pt")
with torch.no_grad():
    probs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.softmax(-1)
for review, p in zip(reviews, probs):
    print(f"{review:<50} " + "  ".join(f"{n} {q:.2f}" for n, q in zip(names, p.tolist())))
