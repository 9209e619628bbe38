"""Tokenizers from scratch: word-level, classic BPE, byte-level BPE (GPT-2) and WordPiece (BERT).

>>> import scratchformers as sf
>>> tok = sf.ByteLevelBPETokenizer.train(["corpus.txt"], vocab_size=8192)   # doctest: +SKIP
>>> gpt2 = sf.load_tokenizer("path/to/gpt2")                                  # doctest: +SKIP
"""

from scratchformers.tokenizers.base import Tokenizer, count_tokens
from scratchformers.tokenizers.bpe import BPETokenizer
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.compare import compare_vocab_sizes
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
    "load_tokenizer",
]
