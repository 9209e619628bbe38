"""Language-model pretraining data: a corpus tokenized once into train/val token files.

Like nanoGPT's ``prepare.py``: the text is split 90/10 (the tail is validation), each part encoded
into a memory-mapped ``uint16``/``uint32`` file, and training draws random ``block_size`` windows.
Validation loss is the mean over a fixed set of windows, so it is comparable across steps and runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from scratchformers.data.text import CharTokenizer, iter_text_documents
from scratchformers.data.tokens import RandomWindows, build_token_file, load_token_file
from scratchformers.errors import ConfigError


def load_lm_tokenizer(spec: str, corpus: Path | None = None, save_dir: Path | None = None):
    """``char`` (built from the corpus), ``gpt2`` (the offline GPT-2 BPE), or a tokenizer folder."""
    if spec == "char":
        if save_dir is not None and (save_dir / "tokenizer.json").exists():
            return CharTokenizer.load(save_dir / "tokenizer.json")
        if corpus is None:
            raise ConfigError("the char tokenizer is built from the corpus; give --data")
        tok = CharTokenizer.from_corpus(corpus)
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            tok.save(save_dir / "tokenizer.json")
        return tok
    from scratchformers.assets import asset_path
    from scratchformers.tokenizers import load_tokenizer

    if spec == "gpt2":
        return load_tokenizer(asset_path("gpt2-tokenizer"))
    if spec.startswith("asset:"):
        return load_tokenizer(asset_path(spec.split(":", 1)[1]))
    return load_tokenizer(spec)


def _encode_fn(tokenizer):
    """Plain ids without [CLS]/[SEP] or BOS: documents are concatenated into one stream."""
    def encode(text: str) -> list[int]:
        try:
            return tokenizer.encode(text, add_special_tokens=False)
        except TypeError:
            return tokenizer.encode(text)

    return encode


def prepare_lm_data(corpus: str | Path, tokenizer, out_dir: str | Path, *, val_fraction: float = 0.1) -> tuple[Path, Path]:
    """Tokenize ``corpus`` into ``out_dir/train.bin`` and ``out_dir/val.bin`` (skipped if they exist).

    A single document is split at ``1 - val_fraction`` of its characters (nanoGPT's split); a folder
    of several documents keeps whole documents, the last ``val_fraction`` of them for validation.
    """
    out_dir = Path(out_dir)
    train_path, val_path = out_dir / "train.bin", out_dir / "val.bin"
    if train_path.exists() and val_path.exists():
        return train_path, val_path
    docs = list(iter_text_documents(corpus))
    if len(docs) == 1:
        cut = int(len(docs[0]) * (1 - val_fraction))
        train_docs, val_docs = [docs[0][:cut]], [docs[0][cut:]]
    else:
        n_val = max(1, int(len(docs) * val_fraction))
        train_docs, val_docs = docs[:-n_val], docs[-n_val:]
    eot = getattr(tokenizer, "eos_token_id", None) if len(docs) > 1 else None
    encode, vocab = _encode_fn(tokenizer), tokenizer.vocab_size
    build_token_file(train_docs, encode, train_path, vocab_size=vocab, eot_id=eot)
    build_token_file(val_docs, encode, val_path, vocab_size=vocab, eot_id=eot)
    return train_path, val_path


class WindowLoss:
    """Mean loss of a model over a fixed set of random windows (same windows at every evaluation)."""

    def __init__(self, ids, block_size: int, batch_size: int, num_batches: int, *, seed: int = 4321, name: str = "val_loss"):
        self.ids, self.block_size, self.batch_size, self.num_batches = ids, block_size, batch_size, num_batches
        self.seed, self.name = seed, name

    @torch.no_grad()
    def __call__(self, model) -> dict:
        windows = RandomWindows(self.ids, self.block_size, self.batch_size, seed=self.seed)
        device = next(model.parameters()).device
        losses = []
        for _ in range(self.num_batches):
            batch = {k: v.to(device) for k, v in windows.next_batch().items()}
            losses.append(float(model(**batch).loss))
        return {self.name: float(np.mean(losses))}


def lm_sources(train_path: Path, val_path: Path, block_size: int, batch_size: int, eval_batches: int, seed: int):
    train_ids, val_ids = load_token_file(train_path), load_token_file(val_path)
    if len(val_ids) <= block_size:
        raise ConfigError(f"the validation split has {len(val_ids)} tokens, not more than block_size {block_size}")
    return RandomWindows(train_ids, block_size, batch_size, seed=seed), WindowLoss(val_ids, block_size, batch_size, eval_batches)
