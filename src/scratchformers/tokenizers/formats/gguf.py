"""The tokenizer inside a GGUF file: its ``tokenizer.ggml.*`` metadata, given as a plain dict.

The GGUF file is read by the checkpoint layer (``hub``); this module only interprets the keys:

- ``tokenizer.ggml.model``: ``"gpt2"`` (byte-level BPE) is supported.
- ``tokenizer.ggml.pre``: llama.cpp's pre-tokenizer name -> our regex and digit splitting
  (``"smollm"``: each digit on its own before the GPT-2 regex, as SmolLM2's ``tokenizer.json``).
- ``tokenizer.ggml.tokens`` / ``merges`` / ``token_type``: the vocabulary (ids are list positions),
  the merges in priority order, and the kinds (3 = control, 4 = user-defined: matched as special
  tokens).
- ``tokenizer.ggml.{bos,eos,padding,unknown}_token_id`` name the roles;
  ``tokenizer.ggml.add_bos_token`` says whether encoding puts BOS first.

A GGUF vocabulary may lack some byte tokens (SmolLM2's has none for 0x04, 0x16, ...):
``unknown_bytes`` chooses a clear error naming the byte (default) or dropping it as HF
``tokenizers`` does when it loads the same file.
"""

from __future__ import annotations

from collections.abc import Mapping

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer

# llama.cpp ``tokenizer.ggml.pre`` names -> (pattern, split_digits)
GGUF_PRE_TOKENIZERS = {
    "gpt-2": ("gpt2", False),
    "gpt2": ("gpt2", False),
    "default": ("gpt2", False),
    "smollm": ("gpt2", True),
    "starcoder": ("gpt2", True),
    "refact": ("gpt2", True),
}
SPECIAL_TOKEN_TYPES = (3, 4)  # control, user-defined
_ROLE_KEYS = (
    ("bos_token", "bos_token_id"),
    ("eos_token", "eos_token_id"),
    ("pad_token", "padding_token_id"),
    ("unk_token", "unknown_token_id"),
)


def tokenizer_from_gguf(metadata: Mapping, *, unknown_bytes: str = "error") -> ByteLevelBPETokenizer:
    """Byte-level BPE from a GGUF file's metadata (``{key: value}``, values as plain Python)."""
    model = metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise ConfigError(
            f"GGUF tokenizer model is {model!r}; only 'gpt2' (byte-level BPE) is supported"
        )
    pre = metadata.get("tokenizer.ggml.pre", "default")
    if pre not in GGUF_PRE_TOKENIZERS:
        raise ConfigError(
            f"GGUF pre-tokenizer {pre!r} is not supported; supported: {sorted(GGUF_PRE_TOKENIZERS)}"
        )
    pattern, split_digits = GGUF_PRE_TOKENIZERS[pre]
    tokens = list(metadata.get("tokenizer.ggml.tokens") or [])
    merges = metadata.get("tokenizer.ggml.merges")
    if not tokens or merges is None:
        raise ConfigError("GGUF metadata lacks tokenizer.ggml.tokens or tokenizer.ggml.merges; the file has no tokenizer")
    types = metadata.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    specials = {t: i for i, (t, kind) in enumerate(zip(tokens, types)) if kind in SPECIAL_TOKEN_TYPES}
    roles = {}
    for role, key in _ROLE_KEYS:
        token_id = metadata.get(f"tokenizer.ggml.{key}")
        if token_id is not None and 0 <= int(token_id) < len(tokens):
            roles[role] = tokens[int(token_id)]
    add_bos = bool(metadata.get("tokenizer.ggml.add_bos_token", False)) and "bos_token" in roles
    vocab = {t: i for i, t in enumerate(tokens)}
    return ByteLevelBPETokenizer(
        vocab,
        merges,
        specials,
        pattern,
        split_digits=split_digits,
        unknown_bytes=unknown_bytes,
        add_bos_token=add_bos,
        **roles,
    )
