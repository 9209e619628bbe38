"""Data for training: token files, text corpora, labelled tables, batching."""

from scratchformers.data.batching import EpochBatches, PaddingCollator, encode_texts, iterate_batches, truncate
from scratchformers.data.tables import (
    LabelledTexts,
    from_hf_dataset,
    load_csv,
    load_jsonl,
    load_labelled,
    stratified_split,
    train_val_test,
)
from scratchformers.data.text import CharTokenizer, iter_text_documents, text_files
from scratchformers.data.tokens import RandomWindows, build_token_file, load_token_file, token_dtype

__all__ = [
    "CharTokenizer",
    "EpochBatches",
    "LabelledTexts",
    "PaddingCollator",
    "RandomWindows",
    "build_token_file",
    "encode_texts",
    "from_hf_dataset",
    "iter_text_documents",
    "iterate_batches",
    "load_csv",
    "load_jsonl",
    "load_labelled",
    "load_token_file",
    "stratified_split",
    "text_files",
    "token_dtype",
    "train_val_test",
    "truncate",
]
