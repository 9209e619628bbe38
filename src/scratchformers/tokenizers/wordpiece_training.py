"""WordPiece training, as HF ``tokenizers``' ``WordPieceTrainer`` does it: BPE with a ``##`` prefix.

The corpus is normalized and split as BERT does (``basic_normalize`` + ``basic_split``). Each word
starts as its characters, every character but the first written ``##c``; BPE merges then grow the
vocabulary, a merge of ``a`` and ``##b`` spelling ``ab`` (the right part loses its prefix).

Vocabulary order: special tokens, the alphabet (sorted by code point), the ``##c`` symbols, then
the merged tokens in creation order. HF assigns the ``##c`` ids while walking a hash map of the
words, an order that changes from run to run (Rust's randomly seeded hashing); here they come in
order of first occurrence, so training is reproducible. The two agree on every merge whose count
is not tied with a pair that involves a ``##c`` symbol (see docs/tokenizers.md and the test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from scratchformers.tokenizers.training import char_alphabet, count_words, learn_merges


def learn_wordpiece_vocab(
    texts: Iterable[str],
    vocab_size: int,
    split: Callable[[str], list[str]],
    *,
    special_tokens: Sequence[str],
    min_frequency: int = 0,
    limit_alphabet: int | None = None,
    initial_alphabet: Iterable[str] = (),
    continuing_prefix: str = "##",
    show_progress: bool = True,
) -> dict[str, int]:
    """The WordPiece vocabulary (token -> id) learned from ``texts`` cut into words by ``split``
    (``special_tokens`` first; ``WordPieceTokenizer.train`` checks the ones it needs)."""
    counts = count_words(texts, split, show_progress)
    alphabet = char_alphabet(counts, limit_alphabet, initial_alphabet)
    id_to_token = list(dict.fromkeys([*special_tokens, *alphabet]))
    token_id = {t: i for i, t in enumerate(id_to_token)}
    kept = set(alphabet)
    words = []
    for word in counts:
        symbols = []
        for i, c in enumerate(word):
            if c not in kept:  # cut by limit_alphabet: dropped, as HF does
                continue
            symbol = continuing_prefix + c if i else c
            if symbol not in token_id:
                token_id[symbol] = len(id_to_token)
                id_to_token.append(symbol)
            symbols.append(token_id[symbol])
        words.append(symbols)

    def join(left: str, right: str) -> str:
        return left + (right[len(continuing_prefix) :] if right.startswith(continuing_prefix) else right)

    learn_merges(
        words,
        list(counts.values()),
        id_to_token,
        vocab_size,
        min_frequency=min_frequency,
        tie_break="ids",
        show_progress=show_progress,
        kind="WordPiece",
        join=join,
    )
    return {t: i for i, t in enumerate(id_to_token)}
