"""The vocabulary-size trade-off: bigger vocabularies compress better but cost embedding rows.

``compare_vocab_sizes`` trains each kind at each size on most of the corpus and measures, on the
held-out rest: bytes per token (compression), the unknown-token rate and the training time.
The plot of the rows is ``viz.tokenizers.plot_vocab_comparison``.

Two readings the table explains in its notes (:func:`explain`):

- a word-level vocabulary *saturates*: it cannot hold more than the distinct words of the corpus, so
  every larger size asked for gives the same vocabulary (plotted once, not as a vertical line);
- classic BPE's unknown tokens are characters never seen in training (merges never add a character),
  so their *count* is the same at every size while the *rate* per token rises: a larger vocabulary
  spends fewer tokens on the same text. ``unknown_per_kb`` (per 1000 held-out bytes) stays flat.
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
    """One row per (kind, vocab_size): bytes_per_token, unknown_rate (share of tokens), unknown_tokens,
    unknown_per_kb (per 1000 held-out bytes), train_seconds, vocab_size (reached), requested_vocab_size
    and saturated (the reached size is below the one asked for). ``texts`` are strings (for files: ``iter_file_lines``)."""
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
            unknown = sum(1 for i in ids if i == tok.unk_token_id) if tok.unk_token_id is not None else 0
            rows.append(
                {
                    "kind": kind,
                    "requested_vocab_size": size,
                    "vocab_size": tok.vocab_size,
                    "saturated": tok.vocab_size < size,
                    "bytes_per_token": heldout_bytes / max(1, len(ids)),
                    "unknown_rate": unknown / max(1, len(ids)),
                    "unknown_tokens": unknown,
                    "unknown_per_kb": 1000 * unknown / heldout_bytes,
                    "train_seconds": seconds,
                }
            )
    return rows


def distinct_sizes(rows: list[dict], kind: str) -> list[dict]:
    """``kind``'s rows without the repeats of a saturated vocabulary (same reached size): one point
    per distinct vocabulary, for plotting."""
    seen, kept = set(), []
    for r in rows:
        if r["kind"] == kind and r["vocab_size"] not in seen:
            seen.add(r["vocab_size"])
            kept.append(r)
    return kept


def explain(rows: list[dict]) -> list[str]:
    """One sentence per effect a reader could misread: saturated vocabularies, unknown tokens whose
    count is fixed while their rate per token rises."""
    notes = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        sub = [r for r in rows if r["kind"] == kind]
        short = [r for r in sub if r["saturated"]]
        if short:
            asked = ", ".join(str(r["requested_vocab_size"]) for r in short)
            reached = sorted({r["vocab_size"] for r in short})
            notes.append(
                f"{kind}: asked {asked}, reached {'/'.join(map(str, reached))}: the corpus has no more "
                f"{'distinct words' if kind == 'wordlevel' else 'merges to learn'}, so larger sizes "
                "give the same vocabulary (plotted once)"
            )
        counts = {r["unknown_tokens"] for r in sub}
        if len(sub) > 1 and len(counts) == 1 and counts != {0}:
            notes.append(
                f"{kind}: the same {counts.pop()} unknown tokens at every size (characters never seen in "
                "training; merges add no characters): the unknown % rises only because a larger "
                "vocabulary needs fewer tokens for the same text (see unk/kB)"
            )
    return notes


def format_table(rows: list[dict]) -> str:
    header = (
        f"{'kind':<10} {'asked':>7} {'vocab':>7} {'bytes/token':>11} {'unknown %':>9} {'unk/kB':>7} "
        f"{'train s':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['kind']:<10} {r['requested_vocab_size']:>7} {r['vocab_size']:>7}{'*' if r['saturated'] else ' '}"
            f"{r['bytes_per_token']:>11.3f} {100 * r['unknown_rate']:>9.3f} {r['unknown_per_kb']:>7.3f} "
            f"{r['train_seconds']:>8.2f}"
        )
    lines.append(
        "unknown % = share of held-out tokens; unk/kB = unknown tokens per 1000 held-out bytes"
        + ("; * = smaller than asked" if any(r["saturated"] for r in rows) else "")
    )
    lines.extend(f"note: {n}" for n in explain(rows))
    return "\n".join(lines)
