"""Tokenizers from scratch: word-level, classic BPE, byte-level BPE (GPT-2) and WordPiece (BERT).

The algorithms (``word_level``, ``bpe``, ``byte_level``, ``wordpiece``, with ``training`` and
``pretokenize``) know no file format; ``formats/`` reads and writes HF ``tokenizer.json``, GPT-2
files, BERT ``vocab.txt``, tiktoken ranks, GGUF metadata and our own folder.

>>> import scratchformers as sf
>>> tok = sf.ByteLevelBPETokenizer.train_from_files(["corpus.txt"], vocab_size=8192)  # doctest: +SKIP
>>> tok = sf.ByteLevelBPETokenizer.train(["some text", "more text"], vocab_size=300)  # doctest: +SKIP
>>> gpt2 = sf.load_tokenizer("path/to/gpt2")                                            # doctest: +SKIP
"""

from scratchformers.tokenizers.base import Tokenizer, count_tokens
from scratchformers.tokenizers.bpe import BPETokenizer
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.compare import compare_vocab_sizes
from scratchformers.tokenizers.formats import (
    load_gpt2_files,
    load_tiktoken,
    load_tokenizer_json,
    load_vocab_txt,
    to_tokenizer_json,
    tokenizer_from_gguf,
    tokenizer_from_ranks,
)
from scratchformers.tokenizers.loading import load_tokenizer
from scratchformers.tokenizers.pretokenize import PATTERNS, bytes_to_unicode
from scratchformers.tokenizers.word_level import WordLevelTokenizer
from scratchformers.tokenizers.wordpiece import WordPieceTokenizer

__all__ = [
    "PATTERNS",
    "BPETokenizer",
    "ByteLevelBPETokenizer",
    "Tokenizer",
    "WordLevelTokenizer",
    "WordPieceTokenizer",
    "bytes_to_unicode",
    "compare_vocab_sizes",
    "count_tokens",
    "load_gpt2_files",
    "load_tiktoken",
    "load_tokenizer",
    "load_tokenizer_json",
    "load_vocab_txt",
    "to_tokenizer_json",
    "tokenizer_from_gguf",
    "tokenizer_from_ranks",
]
