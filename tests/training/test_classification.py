"""Fine-tuning strategies and the end-to-end classification recipe on a tiny BERT."""

import json
import random

import torch

from scratchformers.models import BertConfig, BertForSequenceClassification
from scratchformers.training.classification import apply_strategy, finetune, layer_groups


def tiny_bert(num_labels=2, vocab_size=40):
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(vocab_size=vocab_size, max_positions=32, num_layers=3, num_heads=2,
                                                    d_model=32, d_ff=64, num_labels=num_labels, dropout=0.0,
                                                    attention_dropout=0.0))


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_frozen_trains_only_the_head():
    model = tiny_bert()
    apply_strategy(model, "frozen")
    assert trainable(model) == {"classifier.weight", "classifier.bias", "bert.pooler.weight", "bert.pooler.bias"}
    apply_strategy(model, "full")
    assert trainable(model) == {n for n, _ in model.named_parameters()}


def test_gradual_unfreezes_from_the_top_one_group_at_a_time():
    model = tiny_bert()
    groups = layer_groups(model)
    assert len(groups) == 1 + 3 + 1  # head, 3 blocks (top first), embeddings
    seen = []
    for k in range(1, len(groups) + 1):
        apply_strategy(model, "gradual", unfrozen_groups=k)
        seen.append(sorted({n.split(".")[2] for n in trainable(model) if n.startswith("bert.blocks.")}))
    assert seen == [[], ["2"], ["1", "2"], ["0", "1", "2"], ["0", "1", "2"]]
    assert any(n.startswith("bert.embeddings") for n in trainable(model))
    assert sum(len(g) for g in groups) == len(list(model.parameters()))  # every parameter in exactly one group


class WordTokenizer:
    """[CLS]=1 words... [SEP]=2 over a fixed word list (pad = 0)."""

    pad_token_id = 0

    def __init__(self, words):
        self.index = {w: i + 3 for i, w in enumerate(words)}

    def encode(self, text):
        return [1] + [self.index[w] for w in text.split()] + [2]


def _write_dataset(path, n=400, seed=0):
    rng = random.Random(seed)
    neutral = [f"w{i}" for i in range(20)]
    rows = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(neutral, k=rng.randint(3, 12))
        words.insert(rng.randrange(3), "great" if label == "pos" else "awful")  # survives truncation
        rows.append({"review": " ".join(words), "sentiment": label})
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return neutral + ["great", "awful"]


def test_finetune_end_to_end_on_a_jsonl_file(tmp_path, make_config, capsys):
    strategy = "full"
    words = _write_dataset(tmp_path / "data.jsonl")
    cfg = make_config(task="classification", strategy=strategy, text_column="review", label_column="sentiment",
                      lr=3e-3, batch_size=16, epochs=3, warmup_ratio=0.1, eval_every=10**6, log_every=10,
                      max_length=10)
    report = finetune("unused", str(tmp_path / "data.jsonl"), cfg, model=tiny_bert(), tokenizer=WordTokenizer(words))
    out = capsys.readouterr().out
    assert "neg" in out and "pos" in out and "truncated to 10 tokens:" in out  # balance + truncation count
    assert report["label_names"] == ["neg", "pos"]
    assert report["num_examples"] == 40  # fixed stratified 80/10/10 split
    assert report["truncated"] > 0
    assert report["accuracy"] >= 0.95, report
    run = tmp_path / "run"
    assert json.loads((run / "test_metrics.json").read_text())["accuracy"] == report["accuracy"]
    assert (run / "test_confusion_matrix.png").exists()
    assert sum(sum(r) for r in report["confusion_matrix"]) == 40


def test_gradual_training_follows_the_epochs(tmp_path, make_config):
    """Epoch 0 moves only the head; each later epoch adds one block from the top."""
    from scratchformers.data import EpochBatches, PaddingCollator
    from scratchformers.training.classification import GradualUnfreezing
    from scratchformers.training.optim import build_optimizer
    from scratchformers.training.trainer import Callback, Trainer

    model = tiny_bert()
    examples = [{"input_ids": [1, 3 + i % 5, 2], "labels": i % 2} for i in range(32)]
    data = EpochBatches(examples, 8, PaddingCollator(), seed=0)  # 4 batches per epoch
    snapshots = {}

    class Snapshot(Callback):
        def on_step_end(self, trainer, record):
            snapshots[record["step"]] = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}

    optimizer = build_optimizer(model, 1e-2)  # knows every parameter before anything is frozen
    apply_strategy(model, "gradual")
    Trainer(model, make_config(max_steps=12, lr=1e-2, warmup_steps=0, batch_size=8), data, optimizer=optimizer,
            callbacks=[GradualUnfreezing(), Snapshot()]).fit()
    initial = {n: p.detach().clone() for n, p in tiny_bert().named_parameters()}

    def moved(a, b):
        return {n for n in a if not torch.equal(a[n], b[n])}

    epoch0 = moved(initial, snapshots[4])
    epoch1 = moved(snapshots[4], snapshots[8])
    epoch2 = moved(snapshots[8], snapshots[12])
    assert epoch0 and all(n.startswith(("classifier", "bert.pooler")) for n in epoch0)
    assert any(n.startswith("bert.blocks.2.") for n in epoch1) and not any(n.startswith("bert.blocks.1.") for n in epoch1)
    assert any(n.startswith("bert.blocks.1.") for n in epoch2) and not any(n.startswith("bert.blocks.0.") for n in epoch2)


def test_keep_best_restores_the_weights_of_the_best_validation_epoch():
    from types import SimpleNamespace

    from scratchformers.training.classification import KeepBest

    model = torch.nn.Linear(2, 1)
    trainer = SimpleNamespace(model=model)
    keep = KeepBest()
    snapshots = {}
    for step, accuracy in ((10, 0.5), (20, 0.7), (30, 0.6)):
        with torch.no_grad():
            model.weight.fill_(step)
        snapshots[step] = model.weight.detach().clone()
        keep.on_evaluate(trainer, {"step": step, "val_accuracy": accuracy})
    keep.on_train_end(trainer)
    assert keep.best_step == 20 and keep.best == 0.7
    assert torch.equal(model.weight, snapshots[20])


def test_finetune_with_layer_lr_decay_and_best_epoch(tmp_path, make_config):
    words = _write_dataset(tmp_path / "data.jsonl")
    cfg = make_config(task="classification", text_column="review", label_column="sentiment", lr=3e-3, batch_size=16,
                      epochs=3, warmup_ratio=0.1, eval_every=10**6, max_length=10, layer_lr_decay=0.8)
    report = finetune("unused", str(tmp_path / "data.jsonl"), cfg, model=tiny_bert(), tokenizer=WordTokenizer(words))
    evals = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [e for e in evals if e["type"] == "eval"]
    assert len(evals) == 3  # one validation pass per epoch (20 batches each)
    best = max(evals, key=lambda e: e["val_accuracy"])
    assert report["selected_step"] == best["step"] and report["selected_val_accuracy"] == best["val_accuracy"]
    assert report["accuracy"] >= 0.9, report
