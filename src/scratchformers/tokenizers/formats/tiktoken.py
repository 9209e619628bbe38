"""tiktoken rank files: ``base64-token rank`` per line, the rank being both id and merge priority.

tiktoken stores only ranks; the merge that built each token is recovered by running BPE on its
bytes with the ranks below its own, which must end in exactly two parts.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.formats.text_files import read_text
from scratchformers.tokenizers.pretokenize import bytes_to_unicode


def read_ranks(path: str | Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if line.strip():
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token, validate=True)] = int(rank)
            except (ValueError, binascii.Error):
                raise ConfigError(
                    f"{str(path)!r} line {number} is not 'base64-token rank': {line[:80]!r}"
                ) from None
    return ranks


def load_tiktoken(
    path: str | Path, *, pattern: str = "gpt2", special_tokens: dict[str, int] | None = None
) -> ByteLevelBPETokenizer:
    """A ``.tiktoken`` rank file -> byte-level BPE with ``pattern`` (``"cl100k"``, ``"o200k"``, ...)."""
    return tokenizer_from_ranks(read_ranks(path), pattern=pattern, special_tokens=special_tokens)


def tokenizer_from_ranks(
    ranks: dict[bytes, int], *, pattern: str = "gpt2", special_tokens: dict[str, int] | None = None
) -> ByteLevelBPETokenizer:
    """``{token bytes: rank}`` (tiktoken's ``mergeable_ranks``) -> vocab + recovered merges."""
    b2u = bytes_to_unicode()

    def to_str(token: bytes) -> str:
        return "".join(b2u[x] for x in token)

    vocab = {to_str(token): rank for token, rank in ranks.items()}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) > 1:
            parts = _bpe_bytes(ranks, token, max_rank=rank)
            if len(parts) != 2:
                raise ConfigError(
                    f"tiktoken token {token!r} (rank {rank}) is not one merge of two "
                    "lower-ranked tokens; the rank file is inconsistent"
                )
            merges.append((to_str(parts[0]), to_str(parts[1])))
    return ByteLevelBPETokenizer(vocab, merges, special_tokens or {}, pattern)


def _bpe_bytes(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [bytes([b]) for b in token]
    while True:
        best_rank, best_i = None, None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best_rank is None or rank < best_rank):
                best_rank, best_i = rank, i
        if best_i is None:
            return parts
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
