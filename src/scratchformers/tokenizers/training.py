"""The BPE core shared by classic and byte-level BPE: learning merges, and applying them.

Speed comes from three ideas (the same as HF ``tokenizers``' trainer, which this mirrors step by
step so the merges come out identical):

1. Word-frequency deduplication: the corpus becomes ``{word: count}``; a word seen 10,000 times
   is merged once and weighted by 10,000.
2. Incremental pair counts: a merge only touches the words that contain the pair (``where``),
   and only the pair counts next to each merge site change.
3. A priority queue with lazy updates: entries may hold a stale (too high) count; when popped,
   a stale entry is pushed back with its true count instead of being merged.

Tie-breaking, exactly as HF (``Merge::cmp`` in ``tokenizers/src/models/bpe/trainer.rs``): the
highest count wins; among equal counts the pair with the smallest ``(left_id, right_id)`` wins,
where ids are assigned special tokens first, then the alphabet sorted by code point, then merged
tokens in creation order. Classic (Sennrich) BPE instead breaks ties by first occurrence in the
corpus (``tie_break="first_seen"``), which reproduces the paper's reference script.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import chain, islice

from tqdm.auto import tqdm

Pair = tuple[int, int]


def count_words(texts: Iterable[str], split, show_progress: bool = False, batch: int = 4096) -> Counter:
    """``{piece: count}`` over all texts, streamed in batches (memory: the distinct pieces only).

    Insertion order is first occurrence, which classic BPE uses to break ties.
    """
    counts: Counter = Counter()
    bar = tqdm(desc="Count words", unit=" lines", disable=not show_progress)
    texts = iter(texts)
    while chunk := list(islice(texts, batch)):
        counts.update(chain.from_iterable(map(split, chunk)))  # C-level counting
        bar.update(len(chunk))
    bar.close()
    return counts


def _merge_word(word: list[int], a: int, b: int, new_id: int) -> tuple[list[Pair], list[Pair]]:
    """Merge every (a, b) in ``word`` left to right, in place -> (pairs lost, pairs gained).

    Same bookkeeping as HF's ``Word::merge``: at each merge site the left neighbour's pair
    (prev, a) is lost and (prev, new) gained; the right side likewise. (a, b) itself is not
    counted down (it has been merged; its count is never read again).
    """
    lost: list[Pair] = []
    gained: list[Pair] = []
    remaining, i = word.count(a), -1  # count/index search in C
    while remaining:
        i = word.index(a, i + 1)
        remaining -= 1
        if i < len(word) - 1 and word[i + 1] == b:
            if a == b:  # the right half was an `a` too
                remaining -= 1
            if i > 0:
                prev = word[i - 1]
                lost.append((prev, a))
                gained.append((prev, new_id))
            word[i : i + 2] = [new_id]
            if i < len(word) - 1:
                nxt = word[i + 1]
                lost.append((b, nxt))
                gained.append((new_id, nxt))
    return lost, gained


class _FirstSeen:
    """Tie-break key for classic BPE: position of a pair's first occurrence in the corpus scan."""

    def __init__(self, words: list[list[int]], token_lengths: list[int]):
        self.words = words
        self.token_lengths = token_lengths

    def __call__(self, pair: Pair, where: set[int]) -> tuple[int, int]:
        a, b = pair
        lengths = self.token_lengths
        for wi in sorted(where):
            word, offset = self.words[wi], 0
            for i in range(len(word) - 1):
                if word[i] == a and word[i + 1] == b:
                    return (wi, offset)
                offset += lengths[word[i]]
        return (len(self.words), 0)  # no longer present: sorts last among equal counts


def apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Encode one word with learned merges: repeatedly merge the adjacent pair with the lowest rank
    (every occurrence, left to right) until no ranked pair is left (GPT-2's and Sennrich's ``bpe``)."""
    while len(symbols) > 1:
        best_rank, best = None, None
        for pair in zip(symbols, symbols[1:]):
            rank = ranks.get(pair)
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best = rank, pair
        if best is None:
            break
        left, right = best
        merged, out, i, n = left + right, [], 0, len(symbols)
        while i < n:
            if i < n - 1 and symbols[i] == left and symbols[i + 1] == right:
                out.append(merged)
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        symbols = out
    return symbols


def learn_merges(
    words: list[list[int]],
    counts: list[int],
    id_to_token: list[str],
    vocab_size: int,
    *,
    min_frequency: int = 0,
    tie_break: str = "ids",
    show_progress: bool = True,
) -> list[tuple[int, int, int]]:
    """Learn merges until ``len(id_to_token) == vocab_size``; returns ``[(left, right, new_id)]``.

    ``words`` are lists of symbol ids (modified in place), ``counts`` their frequencies and
    ``id_to_token`` the initial vocabulary (specials + alphabet), extended with each new token.
    A merge whose string already exists reuses that id (as HF does).
    """
    token_to_id = {t: i for i, t in enumerate(id_to_token)}

    # Initial pair counts and, per pair, the words that contain it.
    pair_counts: defaultdict[Pair, int] = defaultdict(int)
    where: defaultdict[Pair, set[int]] = defaultdict(set)
    for wi, word in enumerate(words):
        c = counts[wi]
        for pair in zip(word, word[1:]):
            pair_counts[pair] += c
            where[pair].add(wi)

    first_seen = _FirstSeen(words, [len(t) for t in id_to_token]) if tie_break == "first_seen" else None
    if tie_break not in ("ids", "first_seen"):
        raise ValueError(f"tie_break={tie_break!r}; expected 'ids' or 'first_seen'")

    def entry(pair: Pair, count: int, pos: set[int]):
        # heapq is a min-heap: negate the count. The middle key breaks ties.
        key = pair if first_seen is None else first_seen(pair, pos)
        return (-count, key, pair, pos)

    queue = [entry(p, c, where[p]) for p, c in pair_counts.items() if c > 0]
    heapq.heapify(queue)

    merges: list[tuple[int, int, int]] = []
    bar = tqdm(
        total=max(0, vocab_size - len(id_to_token)),
        desc="Compute merges",
        unit=" merges",
        disable=not show_progress,
    )
    while len(token_to_id) < vocab_size and queue:
        neg, _, pair, pos = heapq.heappop(queue)
        true_count = pair_counts[pair]
        if -neg != true_count:  # stale: some occurrences were merged away since it was pushed
            heapq.heappush(queue, entry(pair, true_count, pos))
            continue
        if true_count < 1 or min_frequency > true_count:
            break
        a, b = pair
        new_token = id_to_token[a] + id_to_token[b]
        new_id = token_to_id.get(new_token)
        if new_id is None:
            new_id = len(id_to_token)
            id_to_token.append(new_token)
            token_to_id[new_token] = new_id
            if first_seen is not None:
                first_seen.token_lengths.append(len(new_token))
            bar.update(1)
        merges.append((a, b, new_id))

        grown: defaultdict[Pair, set[int]] = defaultdict(set)  # new pairs -> words that have them
        for wi in pos:
            word = words[wi]
            if a not in word:
                continue
            c = counts[wi]
            lost, gained = _merge_word(word, a, b, new_id)
            for p in lost:
                pair_counts[p] -= c
            for p in gained:
                pair_counts[p] += c
                grown[p].add(wi)
        for p, p_pos in grown.items():
            c = pair_counts[p]
            if c > 0:
                heapq.heappush(queue, entry(p, c, p_pos))
    bar.close()
    return dedupe_merges(merges)


def dedupe_merges(merges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """A pair merged twice (possible after id reuse) keeps its *last* rank, as HF's HashMap does."""
    last = {(a, b): r for r, (a, b, _) in enumerate(merges)}
    return [m for r, m in enumerate(merges) if last[(m[0], m[1])] == r]
