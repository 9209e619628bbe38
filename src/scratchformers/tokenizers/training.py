"""The BPE trainer shared by classic and byte-level BPE (applying merges: ``merging.py``).

Speed comes from four ideas (the first three as in HF ``tokenizers``' trainer, which this mirrors
step by step so the merges come out identical):

1. Word-frequency deduplication: the corpus becomes ``{word: count}``; a word seen 10,000 times
   is merged once and weighted by 10,000.
2. Incremental pair counts: a merge only touches the words that contain the pair, and only the
   pair counts next to each merge site change.
3. A priority queue with lazy updates: entries may hold a stale (too high) count; when popped,
   a stale entry is pushed back with its true count instead of being merged.
4. A pair-position index: every word is a linked list over one flat array of positions and
   ``pair -> {positions}`` is kept up to date, so one merge site costs O(1) even inside a word of
   a million symbols (training on one 1,000,000-character line is linear, not quadratic).

Tie-breaking, exactly as HF (``Merge::cmp`` in ``tokenizers/src/models/bpe/trainer.rs``): the
highest count wins; among equal counts the pair with the smallest ``(left_id, right_id)`` wins,
where ids are assigned special tokens first, then the alphabet sorted by code point, then merged
tokens in creation order. Classic (Sennrich) BPE instead breaks ties by first occurrence in the
corpus (``tie_break="first_seen"``), which reproduces the paper's reference script.
"""

from __future__ import annotations

import heapq
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import chain, islice

from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns "IProgress not found" in notebooks

Pair = tuple[int, int]


def char_alphabet(
    counts: dict[str, int], limit_alphabet: int | None = None, initial_alphabet: Iterable[str] = ()
) -> list[str]:
    """HF ``BpeTrainer``'s alphabet: every character of the words, weighted by word counts, plus
    ``initial_alphabet`` (first character of each string, always kept); with ``limit_alphabet``
    only the most frequent characters stay. Sorted by code point.
    """
    freq: Counter = Counter()
    for word, count in counts.items():
        for c in word:
            freq[c] += count
    forced = {s[0] for s in initial_alphabet if s}
    if limit_alphabet is not None and len(freq.keys() | forced) > limit_alphabet:
        ranked = sorted(freq.keys() - forced, key=lambda c: (-freq[c], c))
        kept = set(ranked[: max(0, limit_alphabet - len(forced))]) | forced
    else:
        kept = freq.keys() | forced
    return sorted(kept)


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


def warn_if_short(kind: str, asked: int, got: int, reason: str) -> None:
    """Say so when training stops below the requested vocabulary size (and why)."""
    if got < asked:
        warnings.warn(
            f"{kind} training stopped at a vocabulary of {got}, not the {asked} asked for: {reason}",
            UserWarning,
            stacklevel=3,
        )


class _Chains:
    """Long words as linked lists over one flat array of positions, with a pair-position index.

    Position ``p`` holds symbol ``sym[p]`` of word ``owner[p]``; ``nxt``/``prv`` link the live
    positions of a word (-1 at its ends). Merging the pair at ``p`` keeps ``p`` (now the merged
    symbol) and unlinks its right neighbour, so the first position of a word never dies.
    ``occurrences[pair]`` holds the left positions of every live occurrence of ``pair``.
    (Short words stay plain lists: scanning a few symbols in C beats this bookkeeping.)
    """

    def __init__(self, words: dict[int, list[int]]):
        self.sym: list[int] = list(chain.from_iterable(words.values()))
        self.owner: list[int] = []
        self.starts: dict[int, int] = {}
        n = len(self.sym)
        self.nxt = list(range(1, n + 1))
        self.prv = list(range(-1, n - 1))
        self.occurrences: defaultdict[Pair, set[int]] = defaultdict(set)
        start = 0
        for wi, word in words.items():
            size = len(word)
            self.owner.extend([wi] * size)
            self.starts[wi] = start
            self.prv[start] = -1
            self.nxt[start + size - 1] = -1
            for p in range(start, start + size - 1):
                self.occurrences[(word[p - start], word[p - start + 1])].add(p)
            start += size

    def symbols(self, wi: int) -> list[int]:
        """The current symbols of long word ``wi``, left to right."""
        sym, nxt, out, p = self.sym, self.nxt, [], self.starts[wi]
        while p >= 0:
            out.append(sym[p])
            p = nxt[p]
        return out


def _merge_word(word: list[int], a: int, b: int, new_id: int) -> tuple[list[Pair], list[Pair]]:
    """Merge every (a, b) in a short ``word`` left to right, in place -> (pairs lost, gained)."""
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

    def __init__(self, current, n_words: int, token_lengths: list[int]):
        self.current = current  # word index -> its symbols now
        self.n_words = n_words
        self.token_lengths = token_lengths

    def __call__(self, pair: Pair, where: set[int]) -> tuple[int, int]:
        a, b = pair
        lengths = self.token_lengths
        for wi in sorted(where):
            word, offset = self.current(wi), 0
            for i in range(len(word) - 1):
                if word[i] == a and word[i + 1] == b:
                    return (wi, offset)
                offset += lengths[word[i]]
        return (self.n_words, 0)  # no longer present: sorts last among equal counts


_LONG_TRAINING_WORD = 64  # symbols; longer words get the pair-position index


def learn_merges(
    words: list[list[int]],
    counts: list[int],
    id_to_token: list[str],
    vocab_size: int,
    *,
    min_frequency: int = 0,
    tie_break: str = "ids",
    show_progress: bool = True,
    kind: str = "BPE",
    join=None,
) -> list[tuple[int, int, int]]:
    """Learn merges until ``len(id_to_token) == vocab_size``; returns ``[(left, right, new_id)]``.

    ``words`` are lists of symbol ids (short ones modified in place), ``counts`` their frequencies
    and ``id_to_token`` the initial vocabulary (specials + alphabet), extended with each new token.
    A merge whose string already exists reuses that id (as HF does). Warns when it stops short of
    ``vocab_size``, with the reason. ``join(left, right)`` spells a merged token (default: the
    two strings end to end; WordPiece drops the right part's ``##``).
    """
    if tie_break not in ("ids", "first_seen"):
        raise ValueError(f"tie_break={tie_break!r}; expected 'ids' or 'first_seen'")
    token_to_id = {t: i for i, t in enumerate(id_to_token)}

    # Initial pair counts and, per pair, the words that contain it (queue entries carry them,
    # as HF's do); long words also go into the pair-position index.
    pair_counts: defaultdict[Pair, int] = defaultdict(int)
    where: defaultdict[Pair, set[int]] = defaultdict(set)
    for wi, word in enumerate(words):
        c = counts[wi]
        for pair in zip(word, word[1:]):
            pair_counts[pair] += c
            where[pair].add(wi)
    chains = _Chains({wi: w for wi, w in enumerate(words) if len(w) > _LONG_TRAINING_WORD})
    sym, nxt, prv, owner, occurrences = chains.sym, chains.nxt, chains.prv, chains.owner, chains.occurrences
    long_words = chains.starts

    first_seen = None
    if tie_break == "first_seen":
        current = lambda wi: chains.symbols(wi) if wi in long_words else words[wi]  # noqa: E731
        first_seen = _FirstSeen(current, len(words), [len(t) for t in id_to_token])

    def entry(pair: Pair, count: int, pos: set[int]):
        # heapq is a min-heap: negate the count. The middle key breaks ties.
        key = pair if first_seen is None else first_seen(pair, pos)
        return (-count, key, pair, pos)

    queue = [entry(p, c, where[p]) for p, c in pair_counts.items() if c > 0]
    heapq.heapify(queue)
    del where

    merges: list[tuple[int, int, int]] = []
    bar = tqdm(
        total=max(0, vocab_size - len(token_to_id)),
        desc="Compute merges",
        unit=" merges",
        disable=not show_progress,
    )
    reason = "no pair of adjacent tokens is left to merge (every word is a single token)"
    while len(token_to_id) < vocab_size and queue:
        neg, _, pair, pos = heapq.heappop(queue)
        true_count = pair_counts[pair]
        if -neg != true_count:  # stale: some occurrences were merged away since it was pushed
            heapq.heappush(queue, entry(pair, true_count, pos))
            continue
        if true_count < 1:  # every count left is zero: nothing to merge
            break
        if min_frequency > true_count:
            reason = (
                f"the most frequent remaining pair occurs {true_count} times, below "
                f"min_frequency={min_frequency}"
            )
            break
        a, b = pair
        new_token = id_to_token[a] + id_to_token[b] if join is None else join(id_to_token[a], id_to_token[b])
        new_id = token_to_id.get(new_token)
        if new_id is None:
            new_id = len(id_to_token)
            id_to_token.append(new_token)
            token_to_id[new_token] = new_id
            if first_seen is not None:
                first_seen.token_lengths.append(len(new_token))
            bar.update(1)
        merges.append((a, b, new_id))

        # The sites of (a, b) in the entry's long words, grouped per word.
        sites: defaultdict[int, list[int]] = defaultdict(list)
        if pair in occurrences:
            for p in occurrences.pop(pair):
                sites[owner[p]].append(p)
            rest = [p for wi, ps in sites.items() if wi not in pos for p in ps]
            if rest:  # words outside this entry keep their occurrences for a later entry
                occurrences[pair].update(rest)

        # Same bookkeeping as HF's ``Word::merge``: at each site (left to right) the left
        # neighbour's pair (prev, a) is lost and (prev, new) gained; the right side likewise.
        # (a, b) itself is not counted down (it has been merged; its count is never read again).
        grown: defaultdict[Pair, set[int]] = defaultdict(set)  # new pairs -> words that have them
        for wi in pos:
            c = counts[wi]
            if wi not in long_words:
                word = words[wi]
                if a not in word:
                    continue
                lost, gained = _merge_word(word, a, b, new_id)
                for p in lost:
                    pair_counts[p] -= c
                for p in gained:
                    pair_counts[p] += c
                    grown[p].add(wi)
                continue
            for p in sorted(sites.get(wi, ())):
                q = nxt[p]
                if sym[p] != a or q < 0 or sym[q] != b:  # consumed by the previous site (a == b)
                    continue
                left, right = prv[p], nxt[q]
                if left >= 0:
                    s = sym[left]
                    pair_counts[(s, a)] -= c
                    occurrences[(s, a)].discard(left)
                    gained_pair = (s, new_id)
                    pair_counts[gained_pair] += c
                    occurrences[gained_pair].add(left)
                    grown[gained_pair].add(wi)
                if right >= 0:
                    s = sym[right]
                    pair_counts[(b, s)] -= c
                    occurrences[(b, s)].discard(q)
                    gained_pair = (new_id, s)
                    pair_counts[gained_pair] += c
                    occurrences[gained_pair].add(p)
                    grown[gained_pair].add(wi)
                    prv[right] = p
                sym[p], sym[q], nxt[p] = new_id, -1, right
        for p, p_pos in grown.items():
            c = pair_counts[p]
            if c > 0:
                heapq.heappush(queue, entry(p, c, p_pos))
    if bar.n < bar.total:  # the bar ends at the size reached, not at the size asked for
        bar.total = bar.n
        bar.refresh()
    bar.close()
    warn_if_short(kind, vocab_size, len(token_to_id), reason)
    return dedupe_merges(merges)


def dedupe_merges(merges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """A pair merged twice (possible after id reuse) keeps its *last* rank, as HF's HashMap does."""
    last = {(a, b): r for r, (a, b, _) in enumerate(merges)}
    return [m for r, m in enumerate(merges) if last[(m[0], m[1])] == r]
