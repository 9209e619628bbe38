"""From a :class:`TrainConfig` to a ready :class:`Trainer`: the wiring behind ``scratchformers train``."""

from __future__ import annotations

from pathlib import Path

import torch

from scratchformers.data.tokens import load_token_file
from scratchformers.errors import ConfigError
from scratchformers.hub import from_pretrained
from scratchformers.models import (
    GPT,
    BertConfig,
    BertForMaskedLM,
    EncoderDecoder,
    EncoderDecoderConfig,
    GPTConfig,
)
from scratchformers.training.causal_lm import lm_sources, load_lm_tokenizer, prepare_lm_data
from scratchformers.training.config import TrainConfig, resolve_data_path
from scratchformers.training.mlm import MaskedWindows
from scratchformers.training.seq2seq import ReversalData, exact_match
from scratchformers.training.trainer import Trainer
from scratchformers.utils import seed_everything


class MaskedLoss:
    """Validation MLM loss over a fixed set of masked windows."""

    def __init__(self, make_source, num_batches: int):
        self.make_source, self.num_batches = make_source, num_batches

    @torch.no_grad()
    def __call__(self, model) -> dict:
        source, device = self.make_source(), next(model.parameters()).device
        losses = [float(model(**{k: v.to(device) for k, v in source.next_batch().items()}).loss)
                  for _ in range(self.num_batches)]
        return {"val_loss": sum(losses) / len(losses)}


def build_model(config: TrainConfig, vocab_size: int):
    """The model a pretraining config describes (or ``init_from`` a pretrained checkpoint)."""
    if config.init_from:
        return from_pretrained(config.init_from, **config.model).train()
    if config.task == "causal-lm" and config.model_type == "gpt":
        return GPT(GPTConfig(vocab_size=vocab_size, max_positions=config.block_size, **config.model))
    if config.task == "masked-lm" and config.model_type == "bert":
        return BertForMaskedLM(BertConfig(vocab_size=vocab_size, max_positions=config.block_size, **config.model))
    raise ConfigError(f"task {config.task!r} with model_type {config.model_type!r} is not a supported pair "
                      "(causal-lm + gpt, masked-lm + bert)")


def _mlm_source(ids, config: TrainConfig, tokenizer, seed: int) -> MaskedWindows:
    specials = [i for i in (tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
                            tokenizer.mask_token_id, tokenizer.unk_token_id) if i is not None]
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"tokenizer {config.tokenizer!r} has no [MASK] token; masked-lm needs a WordPiece/BERT vocab")
    return MaskedWindows(ids, config.block_size, config.batch_size, vocab_size=tokenizer.vocab_size,
                         cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id, mask_id=tokenizer.mask_token_id,
                         special_ids=specials, probability=config.mlm_probability, seed=seed)


def build_trainer(config: TrainConfig) -> Trainer:
    """Tokenize the corpus once (cached in the run directory), build model + data, return the trainer."""
    run_dir = Path(config.run_dir)
    if config.task == "classification":
        raise ConfigError("classification runs use `scratchformers finetune MODEL --data ...`")
    if config.task == "seq2seq":
        seed_everything(config.seed)
        data = ReversalData(config.batch_size, seed=config.seed)
        model = EncoderDecoder(EncoderDecoderConfig(vocab_size=data.vocab_size, max_positions=32, **config.model))
        return Trainer(model, config, data, eval_fn=lambda m: {"exact_match": exact_match(m, data, 200)})
    if not config.data:
        raise ConfigError("no training data: pass --data FILE_OR_FOLDER")
    corpus = resolve_data_path(config.data)
    tokenizer = load_lm_tokenizer(config.tokenizer, corpus, run_dir)
    train_path, val_path = prepare_lm_data(corpus, tokenizer, run_dir / "data", val_fraction=config.val_fraction)
    seed_everything(config.seed)
    model = build_model(config, tokenizer.vocab_size)
    if config.task == "causal-lm":
        train, eval_fn = lm_sources(train_path, val_path, config.block_size, config.batch_size, config.eval_batches,
                                    config.seed)
        return Trainer(model, config, train, eval_fn=eval_fn)
    train_ids, val_ids = load_token_file(train_path), load_token_file(val_path)
    train = _mlm_source(train_ids, config, tokenizer, config.seed)
    eval_fn = MaskedLoss(lambda: _mlm_source(val_ids, config, tokenizer, 4321), config.eval_batches)
    return Trainer(model, config, train, eval_fn=eval_fn)
