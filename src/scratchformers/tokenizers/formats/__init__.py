"""File formats of tokenizers, one module each, kept apart from the algorithms.

- :mod:`.native`: the folder :meth:`Tokenizer.save` writes (our marker file + the files below).
- :mod:`.hf_json`: Hugging Face ``tokenizer.json`` (+ ``tokenizer_config.json``), read and written.
- :mod:`.gpt2`: GPT-2's ``vocab.json`` + ``merges.txt`` (or OpenAI's ``encoder.json`` + ``vocab.bpe``).
- :mod:`.bert_vocab`: BERT's ``vocab.txt``.
- :mod:`.tiktoken`: tiktoken rank files (``base64-token rank`` per line).
- :mod:`.gguf`: the ``tokenizer.ggml.*`` metadata of a GGUF file, given as a plain dict (the
  file itself is read by the checkpoint layer).

Each module turns its files into a tokenizer object and back; the algorithms import none of them.
"""

from scratchformers.tokenizers.formats.bert_vocab import load_vocab_txt
from scratchformers.tokenizers.formats.gguf import tokenizer_from_gguf
from scratchformers.tokenizers.formats.gpt2 import load_gpt2_files
from scratchformers.tokenizers.formats.hf_json import load_tokenizer_json, to_tokenizer_json
from scratchformers.tokenizers.formats.native import META_FILE, read_meta  # registers save/load
from scratchformers.tokenizers.formats.tiktoken import load_tiktoken, tokenizer_from_ranks

__all__ = [
    "META_FILE",
    "load_gpt2_files",
    "load_tiktoken",
    "load_tokenizer_json",
    "load_vocab_txt",
    "read_meta",
    "to_tokenizer_json",
    "tokenizer_from_gguf",
    "tokenizer_from_ranks",
]
