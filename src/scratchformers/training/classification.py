"""Sequence-classification fine-tuning: strategies, evaluation, and the whole recipe in one call.

Strategies:
  ``full``     every weight trains (lr 2e-5..5e-5);
  ``frozen``   the encoder is frozen, only the head (pooler + classifier) trains (lr 1e-3);
  ``gradual``  ULMFiT-style: the head trains in epoch 0, then one more layer group from the top is
               unfrozen at the start of each epoch (top block, next block, ..., embeddings).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from scratchformers.data.batching import EpochBatches, PaddingCollator, encode_texts, iterate_batches
from scratchformers.data.tables import LabelledTexts, load_labelled, train_val_test
from scratchformers.errors import ConfigError
from scratchformers.training.config import TrainConfig
from scratchformers.training.metrics import classification_report, plot_confusion_matrix
from scratchformers.training.optim import build_optimizer, layerwise_parameter_groups
from scratchformers.training.trainer import Callback, Trainer

DEFAULT_LR = {"full": 3e-5, "frozen": 1e-3, "gradual": 3e-5}


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups from the top: [head], [last block], ..., [first block], [embeddings].

    Works for our ``BertForSequenceClassification`` (``.bert.blocks``) and Hugging Face's
    (``.bert.encoder.layer``); anything else counts as one group below the head.
    """
    encoder = getattr(model, "bert", None)
    if encoder is None:
        raise ConfigError(f"{type(model).__name__} has no .bert encoder; frozen/gradual need a BERT classifier")
    blocks = getattr(encoder, "blocks", None) or encoder.encoder.layer
    encoder_ids = {id(p) for p in encoder.parameters()}
    pooler = getattr(encoder, "pooler", None)
    pooler_params = list(pooler.parameters()) if pooler is not None else []
    head = [p for p in model.parameters() if id(p) not in encoder_ids] + pooler_params
    groups = [head] + [list(block.parameters()) for block in reversed(blocks)]
    grouped = {id(p) for g in groups for p in g}
    groups.append([p for p in encoder.parameters() if id(p) not in grouped])  # embeddings (+ anything left)
    return groups


def apply_strategy(model: nn.Module, strategy: str, unfrozen_groups: int = 1) -> None:
    """Set ``requires_grad`` for ``strategy`` (``gradual`` starts with ``unfrozen_groups`` from the top)."""
    if strategy == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return
    if strategy not in ("frozen", "gradual"):
        raise ConfigError(f"unknown strategy {strategy!r}; choose full, frozen or gradual")
    groups = layer_groups(model)
    for p in model.parameters():
        p.requires_grad_(False)
    for group in groups[: 1 if strategy == "frozen" else unfrozen_groups]:
        for p in group:
            p.requires_grad_(True)


class GradualUnfreezing(Callback):
    """At each new epoch of the training data, unfreeze one more layer group from the top."""

    def on_train_start(self, trainer: Trainer) -> None:
        self._apply(trainer)

    def on_step_end(self, trainer: Trainer, record: dict) -> None:
        self._apply(trainer)

    def _apply(self, trainer: Trainer) -> None:
        epoch = trainer.train_data.epoch + (trainer.train_data.position >= trainer.train_data.batches_per_epoch)
        apply_strategy(trainer.model, "gradual", unfrozen_groups=epoch + 1)


class KeepBest(Callback):
    """Keep a copy of the weights with the best validation metric; put them back when training ends
    (what the test split then measures). The choice uses only the validation split."""

    def __init__(self, metric: str = "val_accuracy"):
        self.metric, self.best, self.best_step, self.state = metric, -math.inf, None, None

    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None:
        value = metrics.get(self.metric)
        if value is not None and value > self.best:
            self.best, self.best_step = value, metrics["step"]
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.model.state_dict().items()}

    def on_train_end(self, trainer: Trainer) -> None:
        if self.state is not None:
            trainer.model.load_state_dict(self.state)


class ClassifierEval:
    """Loss, accuracy and macro-F1 of a classifier on encoded examples (length-sorted batches)."""

    def __init__(self, examples: list[dict], collate, batch_size: int = 64, prefix: str = "val_"):
        self.examples, self.collate, self.batch_size, self.prefix = examples, collate, batch_size, prefix

    @torch.no_grad()
    def predict(self, model) -> tuple[np.ndarray, float]:
        device = next(model.parameters()).device
        predictions = np.zeros(len(self.examples), dtype=np.int64)
        total_loss = 0.0
        for indices, batch in iterate_batches(self.examples, self.batch_size, self.collate):
            batch = {k: v.to(device) for k, v in batch.items()}
            out = model(**batch)
            total_loss += float(out.loss) * len(indices)
            predictions[indices] = out.logits.argmax(-1).cpu().numpy()
        return predictions, total_loss / max(len(self.examples), 1)

    def __call__(self, model) -> dict:
        predictions, loss = self.predict(model)
        report = classification_report([ex["labels"] for ex in self.examples], predictions)
        return {f"{self.prefix}loss": loss, f"{self.prefix}accuracy": report["accuracy"],
                f"{self.prefix}macro_f1": report["macro_f1"]}


def load_classifier_tokenizer(model_path: str | Path):
    from scratchformers.tokenizers import load_tokenizer

    return load_tokenizer(model_path)


def load_classifier(model_path: str | Path, num_labels: int, pooling: str = "cls", dropout: float | None = None):
    """Our ``BertForSequenceClassification`` from a pretrained BERT folder (new head if needed)."""
    import warnings

    from scratchformers.hub import from_pretrained
    from scratchformers.models import BertForSequenceClassification

    overrides = {"num_labels": num_labels, "pooling": pooling}
    if dropout is not None:
        overrides["dropout"] = dropout
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*newly initialised.*")
        return from_pretrained(model_path, model_class=BertForSequenceClassification, **overrides)


def prepare_splits(data: LabelledTexts, encode, max_length: int, *, verbose: bool = True) -> dict:
    """Fixed stratified 80/10/10 split, tokenized and truncated; prints the class balance."""
    data.check()
    splits = dict(zip(("train", "val", "test"), train_val_test(data)))
    for name, part in splits.items():
        part.check(f"{name} split")
    encoded, truncated = {}, 0
    for name, part in splits.items():
        encoded[name], n = encode_texts(part.texts, encode, max_length, part.labels)
        truncated += n
    if verbose:
        print(f"{len(data)} examples, {data.num_labels} classes; label mapping and balance:\n{data.class_balance()}")
        print("split sizes: " + ", ".join(f"{k} {len(v)}" for k, v in encoded.items())
              + f"; truncated to {max_length} tokens: {truncated}")
    return {"examples": encoded, "label_names": data.label_names, "truncated": truncated}


def finetune(
    model_path: str | Path,
    data_source="rotten-tomatoes",
    config: TrainConfig | None = None,
    *,
    model: nn.Module | None = None,
    tokenizer=None,
    verbose: bool = True,
) -> dict:
    """Fine-tune a BERT classifier; returns test metrics and writes them (+ a confusion matrix PNG)."""
    config = config or TrainConfig(task="classification", lr=DEFAULT_LR["full"])
    config = replace(config, task="classification", init_from=str(model_path),
                     data=data_source if isinstance(data_source, str) else str(getattr(data_source, "name", "object")))
    tokenizer = tokenizer or load_classifier_tokenizer(model_path)
    data = load_labelled(data_source, config.text_column, config.label_column)
    prepared = prepare_splits(data, tokenizer.encode, config.max_length, verbose=verbose)
    examples = prepared["examples"]
    torch.manual_seed(config.seed)
    if model is None:
        model = load_classifier(model_path, len(prepared["label_names"]), config.pooling)
    max_positions = getattr(getattr(model, "config", None), "max_positions", None) or getattr(
        getattr(model, "config", None), "max_position_embeddings", 512)
    if config.max_length > max_positions:
        raise ConfigError(f"max_length {config.max_length} exceeds the model's max_positions {max_positions}")
    collate = PaddingCollator(pad_id=tokenizer.pad_token_id or 0)
    train = EpochBatches(examples["train"], config.batch_size, collate, seed=config.seed, bucket=config.bucket_by_length)
    if config.epochs > 0:
        steps = math.ceil(config.epochs * train.batches_per_epoch / config.grad_accum_steps)
        config = replace(config, max_steps=steps)
    if config.keep_best:  # a validation pass at the end of every epoch, the best one is kept
        config = replace(config, eval_every=min(config.eval_every, max(1, train.batches_per_epoch // config.grad_accum_steps)))
    optimizer = None
    from scratchformers.training.distributed import launched_by_torchrun

    if config.strategy == "gradual" and launched_by_torchrun():
        # DDP only synchronises parameters that required grad when it wrapped the model
        raise ConfigError("strategy 'gradual' is not supported under torchrun/DDP; use full or frozen")
    groups = None
    if config.layer_lr_decay < 1.0:
        groups = layerwise_parameter_groups(layer_groups(model), config.lr, config.weight_decay, config.layer_lr_decay)
    if config.strategy == "gradual" or groups is not None:
        # gradual: the optimizer knows every parameter; frozen ones just have no grad yet
        optimizer = build_optimizer(model, config.lr, config.weight_decay, config.betas, config.eps, groups=groups)
    apply_strategy(model, config.strategy)
    callbacks = [GradualUnfreezing()] if config.strategy == "gradual" else []
    keep_best = KeepBest() if config.keep_best else None
    callbacks += [keep_best] if keep_best else []
    trainer = Trainer(model, config, train, eval_fn=ClassifierEval(examples["val"], collate), callbacks=callbacks,
                      optimizer=optimizer, throughput_unit="examples")
    trainer.fit()
    if not trainer.is_main:
        return {}
    return evaluate_classifier(trainer.model, examples["test"], collate, prepared["label_names"], Path(config.run_dir),
                               extra={"truncated": prepared["truncated"], "strategy": config.strategy,
                                      "steps": config.max_steps,
                                      "selected_step": keep_best.best_step if keep_best else config.max_steps,
                                      "selected_val_accuracy": keep_best.best if keep_best else None,
                                      "trainable_parameters": sum(
                                          p.numel() for p in model.parameters() if p.requires_grad)})


def evaluate_classifier(model, examples, collate, label_names, run_dir: Path, *, split: str = "test", extra=None) -> dict:
    """Accuracy, precision/recall/F1 and the confusion matrix of ``examples``; written to ``run_dir``."""
    model.eval()
    predictions, loss = ClassifierEval(examples, collate).predict(model)
    report = classification_report([ex["labels"] for ex in examples], predictions, len(label_names))
    report.update({"split": split, "loss": loss, "label_names": list(label_names), "num_examples": len(examples),
                   **(extra or {})})
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{split}_metrics.json").write_text(json.dumps(report, indent=2))
    plot_confusion_matrix(report["confusion_matrix"], label_names, run_dir / f"{split}_confusion_matrix.png",
                          title=f"{split}: accuracy {report['accuracy']:.3f}")
    return report
