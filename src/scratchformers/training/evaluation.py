"""Evaluate a finished (or interrupted) run from its folder: config.json + the latest checkpoint."""

from __future__ import annotations

from pathlib import Path

from scratchformers.training.checkpoint import load_checkpoint
from scratchformers.training.config import TrainConfig


def evaluate_run(config: TrainConfig, run_dir: str | Path, *, split: str = "test") -> dict:
    run_dir = Path(run_dir)
    if config.task == "classification":
        from scratchformers.data.batching import PaddingCollator
        from scratchformers.data.tables import load_labelled
        from scratchformers.training.classification import (
            evaluate_classifier,
            load_classifier,
            load_classifier_tokenizer,
            prepare_splits,
        )

        tokenizer = load_classifier_tokenizer(config.init_from)
        data = load_labelled(config.data, config.text_column, config.label_column)
        prepared = prepare_splits(data, tokenizer.encode, config.max_length, verbose=False)
        model = load_classifier(config.init_from, len(prepared["label_names"]), config.pooling)
        load_checkpoint(run_dir, model)
        return evaluate_classifier(model, prepared["examples"][split], PaddingCollator(tokenizer.pad_token_id or 0),
                                   prepared["label_names"], run_dir, split=split)
    from dataclasses import replace

    from scratchformers.training.recipes import build_trainer

    trainer = build_trainer(replace(config, compile=False, progress=False))
    load_checkpoint(run_dir, trainer.model)
    return {"step": trainer.step if trainer.step else None, **trainer.evaluate()}
