"""The vocabulary-size trade-off: bigger vocabularies compress better but cost embedding rows.

``compare_vocab_sizes`` trains each kind at each size on most of the corpus and measures, on the
held-out rest: bytes per token (compression), the unknown-token rate and the training time.
The plot of the rows is ``viz.tokenizers.plot_vocab_comparison``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from scratchformers.errors import ConfigError
from scratchformers.tokenizers.base import check_texts
from scratchformers.tokenizers.bpe import BPETokenizer
from scratchformers.tokenizers.byte_level import ByteLevelBPETokenizer
from scratchformers.tokenizers.word_level import WordLevelTokenizer

KINDS = {"wordlevel": WordLevelTokenizer, "bpe": BPETokenizer, "bytelevel": ByteLevelBPETokenizer}


def compare_vocab_sizes(
    texts: Iterable[str],
    vocab_sizes: Sequence[int],
    kinds: Sequence[str] = ("wordlevel", "bpe", "bytelevel"),
    *,
    heldout_fraction: float = 0.1,
    show_progress: bool = False,
) -> list[dict]:
    """One row per (kind, vocab_size): bytes_per_token, unknown_rate, train_seconds, vocab_size
    (reached) and requested_vocab_size. ``texts`` are strings (for files: ``iter_file_lines``)."""
    classes = KINDS
    unknown = [k for k in kinds if k not in classes]
    if unknown:
        raise ConfigError(f"unknown tokenizer kinds {unknown}; choose from {sorted(classes)}")
    lines = [line for line in check_texts(texts) if line.strip()]
    if len(lines) < 2:
        raise ConfigError(f"the corpus has {len(lines)} non-empty lines; compare needs at least 2")
    n_heldout = max(1, int(len(lines) * heldout_fraction))
    train, heldout = lines[:-n_heldout], lines[-n_heldout:]
    heldout_bytes = sum(len(t.encode("utf-8")) for t in heldout)
    rows = []
    for kind in kinds:
        for size in vocab_sizes:
            start = time.perf_counter()
            tok = classes[kind].train(train, size, show_progress=show_progress)
            seconds = time.perf_counter() - start
            ids = [i for t in heldout for i in tok.encode(t)]
            unk = tok.unk_token_id
            rows.append(
                {
                    "kind": kind,
                    "requested_vocab_size": size,
                    "vocab_size": tok.vocab_size,
                    "bytes_per_token": heldout_bytes / max(1, len(ids)),
                    "unknown_rate": (sum(1 for i in ids if i == unk) / max(1, len(ids)))
                    if unk is not None
                    else 0.0,
                    "train_seconds": seconds,
                }
            )
    return rows


def format_table(rows: list[dict]) -> str:
    header = f"{'kind':<10} {'vocab':>7} {'bytes/token':>11} {'unknown %':>9} {'train s':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['kind']:<10} {r['vocab_size']:>7} {r['bytes_per_token']:>11.3f} "
            f"{100 * r['unknown_rate']:>9.3f} {r['train_seconds']:>8.2f}"
        )
    return "\n".join(lines)
