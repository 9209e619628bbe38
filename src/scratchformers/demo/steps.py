"""The six demo steps, one small function each; :data:`STEPS` runs them in order."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns "IProgress not found" in notebooks

from scratchformers import doctor
from scratchformers.assets import asset_path
from scratchformers.data.tables import LabelledTexts, rotten_tomatoes_data
from scratchformers.data.tokens import RandomWindows
from scratchformers.demo.settings import EOT, DemoRun, corpus
from scratchformers.generation import generate, repetition_report
from scratchformers.hub import cached_safetensors, from_pretrained, load_tokenizer_for
from scratchformers.models import GPT, GPTConfig
from scratchformers.tokenizers import ByteLevelBPETokenizer, load_tokenizer
from scratchformers.tokenizers.compare import compare_vocab_sizes, format_table
from scratchformers.training import TrainConfig, Trainer, finetune
from scratchformers.training.causal_lm import WindowLoss
from scratchformers.training.classification import load_classifier
from scratchformers.viz import attention_heatmap, attention_html, collect_attention
from scratchformers.viz.tokenizers import plot_vocab_comparison


# ----------------------------------------------------------------------------- 1. tokenizer
def step_tokenizer(run: DemoRun) -> dict:
    s, texts = run.settings, corpus(run)
    print(f"{len(texts)} Rotten Tomatoes snippets; each kind trained on 90%, measured on the held-out 10%")
    rows = compare_vocab_sizes(texts, s.compare_vocab_sizes, s.compare_kinds, show_progress=True)
    table = format_table(rows)
    print(table)
    plot = plot_vocab_comparison(rows, run.path("tokenizer_tradeoff.png"))
    tokenizer = ByteLevelBPETokenizer.train(texts, s.vocab_size, special_tokens=(EOT,), show_progress=True)
    tokenizer.save(run.path("tokenizer"))
    run.objects["tokenizer"] = tokenizer
    print(f"byte-level BPE with {tokenizer.vocab_size} tokens saved to {run.path('tokenizer')}")
    return {"table": table, "rows": rows, "plot": run.rel(plot), "vocab_size": tokenizer.vocab_size}


# ----------------------------------------------------------------------------- 2. pretraining
def encode_corpus(tokenizer, texts: list[str]) -> np.ndarray:
    """All snippets as one token stream, separated by <|endoftext|> (like GPT-2's documents)."""
    eot = tokenizer.token_to_id(EOT)
    ids: list[int] = []
    for text in tqdm(texts, desc="encode corpus", unit=" snippets", mininterval=0.5):
        ids.extend(tokenizer.encode(text))
        ids.append(eot)
    return np.asarray(ids, dtype=np.int64)


def step_pretrain(run: DemoRun) -> dict:
    s, tokenizer = run.settings, run.objects["tokenizer"]
    ids = encode_corpus(tokenizer, corpus(run))
    cut = int(len(ids) * 0.9)
    train_ids, val_ids = ids[:cut], ids[cut:]  # (N,) token streams; the tail is validation
    torch.manual_seed(run.seed)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, max_positions=s.block_size, num_layers=s.gpt_layers,
                       num_heads=s.gpt_heads, d_model=s.gpt_d_model)
    model = GPT(config)
    print(f"GPT: {model.num_parameters():,} parameters, {s.gpt_layers} layers, d_model {s.gpt_d_model}; "
          f"{len(train_ids):,} training tokens")
    train_config = TrainConfig(
        task="causal-lm", max_steps=s.gpt_steps, lr=s.gpt_lr, batch_size=s.batch_size, block_size=s.block_size,
        warmup_steps=max(1, s.gpt_steps // 10), eval_every=max(1, s.gpt_steps // 4), eval_batches=8,
        log_every=max(1, s.gpt_steps // 20), save_every=0, run_dir=str(run.path("gpt")), device=str(run.device),
        seed=run.seed,
    )  # fmt: skip
    evaluate = WindowLoss(val_ids, s.block_size, s.batch_size, 8)
    trainer = Trainer(model, train_config, RandomWindows(train_ids, s.block_size, s.batch_size, seed=run.seed),
                      eval_fn=evaluate)
    trainer.fit()
    model.eval()
    model.save_pretrained(run.path("gpt/model"))
    run.objects.update(gpt=model, val_ids=val_ids)
    evals = trainer.eval_history
    return {
        "parameters": model.num_parameters(),
        "steps": s.gpt_steps,
        "train_tokens": int(len(train_ids)),
        "first_train_loss": trainer.history[0]["loss"],
        "final_train_loss": trainer.history[-1]["loss"],
        "val_loss": [(e["step"], e["val_loss"]) for e in evals],
        "plot": run.rel(run.path("gpt/curves.png")),
    }


# ----------------------------------------------------------------------------- 3. generation
def strategies(num_beams: int) -> dict[str, dict]:
    return {
        "greedy": {},
        "top-k (k=50, T=0.8)": {"do_sample": True, "top_k": 50, "temperature": 0.8},
        "top-p (p=0.9, T=0.8)": {"do_sample": True, "top_p": 0.9, "temperature": 0.8},
        f"beam search ({num_beams} beams)": {"num_beams": num_beams},
    }


def generate_all(model, tokenizer, prompt: str, new_tokens: int, num_beams: int, device, label: str,
                 *, stop_at_eos: bool = True) -> list[dict]:
    """One continuation per strategy, with its repetition scores (distinct-n, repeated 3-gram rate).

    ``stop_at_eos=False`` lets a model trained on a stream of snippets run across their boundaries,
    so that greedy decoding's loops have room to show.
    """
    prompt_ids = torch.tensor([tokenizer.encode(prompt)], device=device)  # (1, prompt_len)
    eos = tokenizer.eos_token_id if stop_at_eos else None
    rows = []
    for seed, (name, kwargs) in enumerate(tqdm(strategies(num_beams).items(), desc=f"generate ({label})", unit=" strategy")):
        generator = torch.Generator(device=device).manual_seed(seed) if kwargs.get("do_sample") else None
        start = time.perf_counter()
        out = generate(model, prompt_ids, max_new_tokens=new_tokens, generator=generator, eos_token_id=eos, **kwargs)
        seconds = time.perf_counter() - start
        new_ids = out[0, prompt_ids.shape[1] :].tolist()
        new_ids = new_ids[: new_ids.index(eos)] if eos in new_ids else new_ids  # drop the EOS itself
        text = tokenizer.decode(new_ids).replace(EOT, " | ")  # a snippet boundary of our GPT's corpus
        report = repetition_report(new_ids)  # on token ids: comparable across tokenizers
        rows.append({"model": label, "strategy": name, "prompt": prompt, "text": text, "ids": new_ids,
                     "seconds": seconds, "distinct_2": report.distinct[2],
                     "repeated_3gram_rate": report.repeated_ngram_rate})
    return rows


def load_smollm2(device):
    folder = cached_safetensors("smollm2-135m")  # the GGUF dequantised once into ~/.cache/scratchformers
    return from_pretrained(folder, device=device), load_tokenizer_for(folder)


def format_generations(rows: list[dict]) -> str:
    lines = [f"{'model':<9} {'strategy':<22} {'distinct-2':>10} {'rep-3gram':>9}  continuation"]
    for r in rows:
        text = " ".join(r["text"].split())
        lines.append(f"{r['model']:<9} {r['strategy']:<22} {r['distinct_2']:>10.2f} {r['repeated_3gram_rate']:>9.2f}  "
                     f"{text[:90]!r}")
    return "\n".join(lines)


def step_generate(run: DemoRun) -> dict:
    s = run.settings
    rows = generate_all(run.objects["gpt"], run.objects["tokenizer"], "This movie is", s.gpt_new_tokens,
                        s.num_beams, run.device, "our GPT", stop_at_eos=False)
    smol, smol_tokenizer = load_smollm2(run.device)
    rows += generate_all(smol, smol_tokenizer, "I watched the new movie last night, and", s.smol_new_tokens,
                         s.num_beams, run.device, "SmolLM2")
    del smol
    table = format_generations(rows)
    print(table)
    print("distinct-2: unique bigrams / all bigrams (1 = no repeats); rep-3gram: share of repeated 3-grams")
    (run.path("generations.json")).write_text(json.dumps(rows, indent=2))
    run.objects["greedy_ids"] = rows[0]["ids"]
    return {"table": table, "rows": rows}


# ----------------------------------------------------------------------------- 4. fine-tuning
def sentiment_subset(n: int, path: Path, seed: int) -> LabelledTexts:
    """``n`` random RT snippets with the packaged label ids (0 = rotten, 1 = fresh, as ``finetune`` uses);
    also written to ``path`` as JSONL (the integer id and its name) so the run keeps what it trained on."""
    data = rotten_tomatoes_data()
    subset = data.subset(random.Random(seed).sample(range(len(data)), min(n, len(data))))
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(subset.texts, subset.labels):
            f.write(json.dumps({"text": text, "label": label, "label_name": subset.label_names[label]}) + "\n")
    return subset


def format_confusion(matrix, names) -> str:
    width = max(8, *(len(n) for n in names))
    lines = [" " * width + " predicted: " + " ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, matrix):
        lines.append(f"{name:>{width}} (true)    " + " ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def step_finetune(run: DemoRun) -> dict:
    s = run.settings
    minilm = asset_path("minilm")
    data = sentiment_subset(s.finetune_examples, run.path("sentiment.jsonl"), run.seed)
    model = load_classifier(minilm, num_labels=2)
    config = TrainConfig(
        task="classification", strategy="full", lr=s.finetune_lr, epochs=s.finetune_epochs,
        batch_size=s.finetune_batch_size, max_length=s.max_length, warmup_ratio=0.1, schedule="linear",
        weight_decay=0.01, betas=(0.9, 0.999), eval_every=10**6, log_every=5, save_every=0,
        run_dir=str(run.path("finetune")), device=str(run.device), seed=run.seed,
    )  # fmt: skip
    metrics = finetune(minilm, data, config, model=model, tokenizer=load_tokenizer(minilm))
    confusion = format_confusion(metrics["confusion_matrix"], metrics["label_names"])
    print(f"MiniLM sentiment accuracy: {metrics['accuracy']:.3f} on {metrics['num_examples']} test snippets "
          f"({metrics['steps']} steps, macro-F1 {metrics['macro_f1']:.3f})")
    print(confusion)
    run.objects["classifier"] = model.eval()
    return {
        "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "test_examples": metrics["num_examples"],
        "steps": metrics["steps"], "confusion": confusion, "label_names": metrics["label_names"],
        "plot": run.rel(run.path("finetune/test_confusion_matrix.png")),
        "curves": run.rel(run.path("finetune/curves.png")),
    }  # fmt: skip


# ----------------------------------------------------------------------------- 5. attention
def step_attention(run: DemoRun) -> dict:
    minilm = asset_path("minilm")
    tokenizer, model = load_tokenizer(minilm), from_pretrained(minilm)  # the pretrained BertModel
    ids = torch.tensor([tokenizer.encode(run.settings.attention_sentence)])  # (1, T) with [CLS] ... [SEP]
    tokens = [tokenizer.id_to_token(i) for i in ids[0].tolist()]
    weights = collect_attention(model, ids)  # per layer (1, heads, T, T)
    layer, head = len(weights) - 1, 0
    png = attention_heatmap(weights, tokens, layer=layer, head=head, path=run.path("attention.png"),
                            title=f"MiniLM layer {layer} head {head}")
    import matplotlib.pyplot as plt

    plt.close(png)
    attention_html(weights, tokens, path=run.path("attention.html"), title="MiniLM attention")
    print(f"{len(tokens)} tokens: {' '.join(tokens)}")
    print(f"wrote {run.path('attention.png')} and {run.path('attention.html')} (head view + model view)")
    return {"tokens": tokens, "plot": "attention.png", "html": "attention.html", "layer": layer, "head": head}


# ----------------------------------------------------------------------------- 6. doctor
def step_doctor(run: DemoRun) -> dict:
    gpt, classifier = run.objects["gpt"], run.objects["classifier"]
    window = min(32, run.settings.block_size)
    gpt_ids = torch.as_tensor(run.objects["val_ids"][None, :window], device=run.device)  # (1, window)
    bert_tokenizer = load_tokenizer(asset_path("minilm"))
    bert_ids = torch.tensor([bert_tokenizer.encode(run.settings.attention_sentence)], device=run.device)
    heldout = corpus(run)[-200:]
    reports = {
        "our GPT": doctor.check_model(gpt, gpt_ids, causal=True),
        "fine-tuned MiniLM": doctor.check_model(classifier, bert_ids, causal=False, pretrained=True),
        "our BPE tokenizer": doctor.check_tokenizer(run.objects["tokenizer"], heldout),
        "GPT greedy output": doctor.check_generation(run.objects["greedy_ids"], do_sample=False,
                                                      tokenizer=run.objects["tokenizer"]),
    }
    summary = {}
    for name, report in reports.items():
        report.title = f"doctor: {name}"
        report.print()
        summary[name] = {"ok": report.ok, "failures": len(report.failures), "warnings": len(report.warnings),
                         "findings": [f.to_dict() for f in report.findings]}
    (run.path("doctor.json")).write_text(json.dumps(summary, indent=2))
    return summary


STEPS = (
    ("tokenizer", "1/6 byte-level BPE on Rotten Tomatoes: the vocabulary-size trade-off", step_tokenizer),
    ("pretrain", "2/6 pretraining a small GPT", step_pretrain),
    ("generate", "3/6 decoding strategies: our GPT and SmolLM2-135M", step_generate),
    ("finetune", "4/6 fine-tuning MiniLM for sentiment", step_finetune),
    ("attention", "5/6 MiniLM attention on a sample sentence", step_attention),
    ("doctor", "6/6 the doctor on the trained models", step_doctor),
)
