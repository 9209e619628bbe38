"""The end-to-end demo: the whole package at work on the packaged assets, offline.

``run_demo(DemoSettings.full(), out_dir)`` runs six steps, one small function each, and writes
everything into ``out_dir``:

1. ``step_tokenizer``  train byte-level BPE tokenizers on Rotten Tomatoes; vocabulary-size trade-off
2. ``step_pretrain``   pretrain a small GPT on the same snippets with that tokenizer (loss curve)
3. ``step_generate``   greedy / top-k / top-p / beam search from our GPT and SmolLM2-135M, with
                       repetition scores
4. ``step_finetune``   fine-tune MiniLM for sentiment; accuracy and the confusion matrix
5. ``step_attention``  MiniLM's attention on a sample sentence (PNG heatmap + interactive HTML)
6. ``step_doctor``     the doctor on the trained GPT, the fine-tuned MiniLM and the tokenizer

and ends with ``report.html``, one page that links every figure. The steps share a
:class:`DemoRun` (settings, output folder, device, results so far).
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from scratchformers.errors import AssetNotInstalledError

ASSETS_NEEDED = ("rotten-tomatoes", "minilm", "smollm2-135m")
EOT = "<|endoftext|>"


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of every step. ``full()`` fits in 10 minutes on 2 CPU cores (measured 6), ``quick()`` in seconds."""

    name: str
    corpus_lines: int | None  # RT snippets used for the tokenizer and the GPT (None = all 12.8k)
    compare_kinds: tuple[str, ...]  # tokenizer kinds in the trade-off table
    compare_vocab_sizes: tuple[int, ...]
    vocab_size: int  # the byte-level BPE the GPT is trained with
    gpt_layers: int
    gpt_heads: int
    gpt_d_model: int
    block_size: int
    batch_size: int
    gpt_steps: int
    gpt_lr: float
    gpt_new_tokens: int  # prompt + new tokens stay within block_size (the positions it was trained on)
    smol_new_tokens: int
    num_beams: int
    finetune_examples: int  # a random subset of RT, split 80/10/10 (stratified) by `finetune`
    finetune_epochs: float
    finetune_batch_size: int
    finetune_lr: float
    max_length: int
    attention_sentence: str = "The plot is thin, but the acting is wonderful."

    @classmethod
    def full(cls) -> DemoSettings:
        return cls(
            name="full", corpus_lines=None, compare_kinds=("wordlevel", "bpe", "bytelevel"),
            compare_vocab_sizes=(1000, 4000, 16000), vocab_size=4000,
            gpt_layers=4, gpt_heads=4, gpt_d_model=128, block_size=64, batch_size=16, gpt_steps=1000, gpt_lr=2e-3,
            gpt_new_tokens=40, smol_new_tokens=32, num_beams=4,
            finetune_examples=6000, finetune_epochs=1.0, finetune_batch_size=32, finetune_lr=5e-5, max_length=64,
        )  # fmt: skip

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(
            name="quick", corpus_lines=1500, compare_kinds=("bytelevel",), compare_vocab_sizes=(300, 600),
            vocab_size=400, gpt_layers=2, gpt_heads=2, gpt_d_model=64, block_size=32, batch_size=8, gpt_steps=30,
            gpt_lr=3e-3, gpt_new_tokens=12, smol_new_tokens=3, num_beams=2,
            finetune_examples=200, finetune_epochs=0.15, finetune_batch_size=8, finetune_lr=5e-5, max_length=32,
        )  # fmt: skip


@dataclass
class DemoRun:
    """What the steps share: settings, the output folder, the device and the results so far."""

    settings: DemoSettings
    out: Path
    device: torch.device
    seed: int = 0
    results: dict = field(default_factory=dict)  # step name -> its JSON-able summary
    timings: dict = field(default_factory=dict)  # step name -> seconds
    objects: dict = field(default_factory=dict)  # models/tokenizers handed from step to step

    def path(self, name: str) -> Path:
        return self.out / name

    def rel(self, path: Path) -> str:
        return Path(path).relative_to(self.out).as_posix()


def section(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * max(4, 70 - len(title))}", flush=True)


@contextlib.contextmanager
def cpu_threads(device: torch.device, threads: int):
    """Run the block with ``threads`` torch CPU threads (no effect on GPUs); restores the old count."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_assets(names=ASSETS_NEEDED) -> dict[str, Path]:
    """Paths of the assets the demo needs, or one error listing every missing one with its pip command."""
    from scratchformers import assets

    found, missing = {}, []
    for name in names:
        try:
            found[name] = assets.asset_path(name)
        except AssetNotInstalledError as err:
            missing.append(str(err))
    if missing:
        raise AssetNotInstalledError("the demo needs offline assets that are missing:\n  " + "\n  ".join(missing))
    return found


def corpus(run: DemoRun) -> list[str]:
    """The Rotten Tomatoes snippets (all, or the first ``corpus_lines`` for the quick run)."""
    if "corpus" not in run.objects:
        from scratchformers.assets import rotten_tomatoes

        texts, _ = rotten_tomatoes()
        run.objects["corpus"] = texts[: run.settings.corpus_lines] if run.settings.corpus_lines else texts
    return run.objects["corpus"]


# ----------------------------------------------------------------------------- 1. tokenizer
def step_tokenizer(run: DemoRun) -> dict:
    from scratchformers.tokenizers import ByteLevelBPETokenizer
    from scratchformers.tokenizers.compare import compare_vocab_sizes, format_table
    from scratchformers.viz.tokenizers import plot_vocab_comparison

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
    from scratchformers.data.tokens import RandomWindows
    from scratchformers.models import GPT, GPTConfig
    from scratchformers.training import TrainConfig, Trainer
    from scratchformers.training.causal_lm import WindowLoss

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
    from scratchformers.generation import generate, repetition_report

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
    from scratchformers.assets import cached_safetensors
    from scratchformers.hub import from_pretrained, load_tokenizer_for

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
def sentiment_subset(n: int, path: Path, seed: int) -> Path:
    """``n`` random RT snippets as JSONL with readable labels (rotten/fresh)."""
    from scratchformers.assets import ROTTEN_TOMATOES_LABELS, rotten_tomatoes

    texts, labels = rotten_tomatoes()
    chosen = random.Random(seed).sample(range(len(texts)), min(n, len(texts)))
    with open(path, "w", encoding="utf-8") as f:
        for i in chosen:
            f.write(json.dumps({"text": texts[i], "label": ROTTEN_TOMATOES_LABELS[labels[i]]}) + "\n")
    return path


def format_confusion(matrix, names) -> str:
    width = max(8, *(len(n) for n in names))
    lines = [" " * width + " predicted: " + " ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, matrix):
        lines.append(f"{name:>{width}} (true)    " + " ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def step_finetune(run: DemoRun) -> dict:
    from scratchformers.assets import asset_path
    from scratchformers.tokenizers import load_tokenizer
    from scratchformers.training import TrainConfig, finetune
    from scratchformers.training.classification import load_classifier

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
    metrics = finetune(minilm, str(data), config, model=model, tokenizer=load_tokenizer(minilm))
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
    from scratchformers.assets import asset_path
    from scratchformers.hub import from_pretrained
    from scratchformers.tokenizers import load_tokenizer
    from scratchformers.viz import attention_heatmap, attention_html, collect_attention

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
    from scratchformers import doctor
    from scratchformers.assets import asset_path
    from scratchformers.tokenizers import load_tokenizer

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
        "GPT greedy output": doctor.check_generation(run.objects["greedy_ids"], do_sample=False),
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


def run_demo(settings: DemoSettings, out: str | Path, device: str = "auto", threads: int | None = 1) -> DemoRun:
    """Run the six steps into ``out``; returns the run (results, timings) after writing report.html.

    ``threads``: torch CPU threads for the run (None: torch's default, one per core). The default is
    1: the demo's models are small, and when other processes share the cores, torch's extra OpenMP
    threads spin instead of working (measured on a loaded 2-core machine: MiniLM fine-tuning step
    0.9 s with 1 thread vs 7.5 s with 2; SmolLM2 0.4 s vs 5.8 s for 8 tokens).
    """
    from scratchformers.training.trainer import resolve_device

    check_assets()  # fail fast, before minutes of work, with the pip commands
    run = DemoRun(settings, Path(out), resolve_device(device))
    run.out.mkdir(parents=True, exist_ok=True)
    print(f"scratchformers demo ({settings.name}) on {run.device}, writing to {run.out}")
    with cpu_threads(run.device, threads) if threads else contextlib.nullcontext():
        for name, title, step in STEPS:
            section(title)
            start = time.perf_counter()
            run.results[name] = step(run)
            run.timings[name] = time.perf_counter() - start
    (run.path("results.json")).write_text(json.dumps(
        {"settings": asdict(settings), "device": str(run.device), "timings_s": run.timings, **run.results},
        indent=2, default=str))
    write_report(run)
    return run


# ----------------------------------------------------------------------------- summary + report
def summary_lines(run: DemoRun) -> list[str]:
    r = run.results
    byte_rows = [row for row in r["tokenizer"]["rows"] if row["kind"] == "bytelevel"]
    tok = min(byte_rows, key=lambda row: abs(row["vocab_size"] - r["tokenizer"]["vocab_size"]))  # the closest size
    gen = {(row["model"], row["strategy"]): row for row in r["generate"]["rows"]}
    greedy = {m: gen[(m, "greedy")]["repeated_3gram_rate"] for m in ("our GPT", "SmolLM2")}
    val = r["pretrain"]["val_loss"]
    doctor = ", ".join(f"{name}: {d['failures']} failures, {d['warnings']} warnings" for name, d in r["doctor"].items())
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items())
    return [
        f"tokenizer   byte-level BPE vocab {r['tokenizer']['vocab_size']}; at vocab {tok['vocab_size']}: "
        f"{tok['bytes_per_token']:.2f} bytes/token on held-out snippets",
        f"pretrain    GPT {r['pretrain']['parameters']:,} params, {r['pretrain']['steps']} steps: "
        f"train loss {r['pretrain']['first_train_loss']:.2f} -> {r['pretrain']['final_train_loss']:.2f}, "
        f"val loss {val[-1][1]:.2f}",
        f"generate    greedy repeated-3gram rate: our GPT {greedy['our GPT']:.2f}, SmolLM2 {greedy['SmolLM2']:.2f}",
        f"finetune    MiniLM sentiment accuracy {r['finetune']['accuracy']:.3f} on {r['finetune']['test_examples']} "
        f"test snippets ({r['finetune']['steps']} steps)",
        f"attention   {len(r['attention']['tokens'])} tokens, {run.results['attention']['html']}",
        f"doctor      {doctor}",
        f"time        {sum(run.timings.values()):.0f} s on {run.device} ({timings})",
    ]


def print_summary(run: DemoRun) -> None:
    section("summary")
    for line in summary_lines(run):
        print(line)
    print(f"report: {run.path('report.html')}")


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def _img(src: str, alt: str) -> str:
    return f'<a href="{src}"><img src="{src}" alt="{html.escape(alt)}"></a>'


def write_report(run: DemoRun) -> Path:
    """A standalone HTML page (no network): the summary, every table, and links to the figures."""
    r = run.results
    gen_rows = "".join(
        f"<tr><td>{html.escape(g['model'])}</td><td>{html.escape(g['strategy'])}</td><td>{g['distinct_2']:.2f}</td>"
        f"<td>{g['repeated_3gram_rate']:.2f}</td><td>{html.escape(g['prompt'])} <b>{html.escape(g['text'])}</b></td></tr>"
        for g in r["generate"]["rows"]
    )
    doctor_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(f['id'])}</td><td class='{f['status']}'>{f['status']}</td>"
        f"<td>{html.escape(f['message'])}</td></tr>"
        for name, d in r["doctor"].items() for f in d["findings"]
    )  # fmt: skip
    body = [
        f"<h1>scratchformers demo ({run.settings.name})</h1>",
        "<h2>Summary</h2>", _pre("\n".join(summary_lines(run))),
        "<h2>1. Tokenizer: the vocabulary-size trade-off</h2>", _pre(r["tokenizer"]["table"]),
        _img(r["tokenizer"]["plot"], "trade-off"),
        "<h2>2. Pretraining a small GPT</h2>",
        _pre("\n".join(f"step {step}: val loss {loss:.3f}" for step, loss in r["pretrain"]["val_loss"])),
        _img(r["pretrain"]["plot"], "GPT loss curve"),
        "<h2>3. Decoding strategies</h2>",
        "<table><tr><th>model</th><th>strategy</th><th>distinct-2</th><th>repeated 3-grams</th>"
        f"<th>prompt + <b>continuation</b></th></tr>{gen_rows}</table>",
        "<h2>4. Fine-tuning MiniLM for sentiment</h2>",
        f"<p>accuracy <b>{r['finetune']['accuracy']:.3f}</b>, macro-F1 {r['finetune']['macro_f1']:.3f} on "
        f"{r['finetune']['test_examples']} test snippets</p>", _pre(r["finetune"]["confusion"]),
        _img(r["finetune"]["plot"], "confusion matrix"), _img(r["finetune"]["curves"], "fine-tuning curves"),
        "<h2>5. Attention</h2>",
        f'<p><a href="{r["attention"]["html"]}">interactive attention view (head view + model view)</a></p>',
        _img(r["attention"]["plot"], "attention heatmap"),
        "<h2>6. Doctor</h2>",
        f"<table><tr><th>target</th><th>check</th><th>status</th><th>evidence</th></tr>{doctor_rows}</table>",
    ]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "img{max-width:100%;border:1px solid #ddd;margin:.5em 0}pre{background:#f6f6f6;padding:.8em;"
             "overflow-x:auto}table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ddd;"
             "padding:4px;vertical-align:top}.ok{color:green}.warn{color:#b80}.fail{color:red;font-weight:bold}"
             ".skip{color:gray}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>scratchformers demo</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
    path = run.path("report.html")
    path.write_text(page, encoding="utf-8")
    return path
