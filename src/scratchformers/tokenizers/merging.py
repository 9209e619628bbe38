"""Applying learned BPE merges to one word (pre-token), shared by classic and byte-level BPE.

Short words rescan their adjacent pairs after each merge (a few symbols: fastest in practice).
Long words (a line without spaces) use a heap of ``(rank, position)`` over a linked list, so a
word of n symbols costs O(n log n) instead of O(n^2).
"""

from __future__ import annotations

import heapq

LONG_WORD = 48  # symbols; above this a heap beats rescanning the pairs


def apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Encode one word with learned merges: repeatedly merge the adjacent pair with the lowest rank
    (leftmost first) until no ranked pair is left (GPT-2's, Sennrich's and tiktoken's ``bpe``).

    Short words rescan their pairs after each merge; long ones (a line without spaces) use a heap
    of ``(rank, position)`` over a linked list, so the cost is O(n log n), not O(n^2).
    """
    if len(symbols) > LONG_WORD:
        return _apply_merges_heap(symbols, ranks)
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



def _apply_merges_heap(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """:func:`apply_merges` for long words: :func:`merge_ids` on numbered symbols."""
    index = {s: i for i, s in enumerate(dict.fromkeys(symbols))}
    names = list(index)
    cache: dict[int, tuple[int, int] | None] = {}

    def lookup(key: int) -> tuple[int, int] | None:
        if key not in cache:
            left, right = divmod(key, _WIDE)
            rank = ranks.get((names[left], names[right]))
            if rank is not None:
                merged = names[left] + names[right]
                if merged not in index:
                    index[merged] = len(names)
                    names.append(merged)
                cache[key] = (rank, index[merged])
            else:
                cache[key] = None
        return cache[key]

    return [names[i] for i in merge_ids([index[s] for s in symbols], lookup, _WIDE)]


_WIDE = 1 << 40  # pair key = left * _WIDE + right for symbol numbers below 2**40


def merge_ids(ids: list[int], lookup, width: int) -> list[int]:
    """BPE on token ids with a heap: ``lookup(left * width + right) -> (rank, merged_id) | None``.

    Pops the lowest ``rank * n + position`` (lowest rank, then leftmost), merges it in a linked
    list and pushes the two new neighbour pairs; ``rank_at[p]`` is the rank of the live pair
    starting at ``p`` (None if none), so an outdated heap entry is recognised and skipped.
    O(n log n) for n symbols. Merging the leftmost lowest-ranked pair one at a time (tiktoken)
    equals merging all its occurrences left to right (GPT-2): a merge never creates its own pair.
    """
    n = len(ids)
    if n < 2:
        return list(ids)
    sym = list(ids)
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    prv = list(range(-1, n - 1))
    get = lookup
    rank_at: list[int | None] = [None] * n
    heap = []
    for p in range(n - 1):
        found = get(sym[p] * width + sym[p + 1])
        if found is not None:
            rank_at[p] = found[0]
            heap.append(found[0] * n + p)
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        rank, p = divmod(pop(heap), n)
        if rank_at[p] != rank:  # outdated: the pair at p changed since this entry was pushed
            continue
        q = nxt[p]
        merged = get(sym[p] * width + sym[q])[1]
        sym[p] = merged
        after = nxt[q]
        nxt[p] = after
        rank_at[q] = rank_at[p] = None
        if after >= 0:
            prv[after] = p
            found = get(merged * width + sym[after])
            if found is not None:
                rank_at[p] = found[0]
                push(heap, found[0] * n + p)
        before = prv[p]
        if before >= 0:
            found = get(sym[before] * width + merged)
            rank_at[before] = None if found is None else found[0]
            if found is not None:
                push(heap, found[0] * n + before)
    out, p = [], 0
    while p >= 0:
        out.append(sym[p])
        p = nxt[p]
    return out
