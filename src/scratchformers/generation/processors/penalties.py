"""Penalties and biases that depend on the text so far (or on the prompt / encoder input).

- repetition penalty (CTRL): every id already generated has its score divided by ``penalty``
  (multiplied when negative); the encoder variant does the inverse for ids of the encoder input
  (``penalty > 1`` makes copying the input MORE likely, the reference's "hallucination penalty");
- no-repeat-ngram: ban the token that would complete an n-gram seen before (in the text so far,
  or in the encoder input for the encoder variant);
- sequence bias: add ``bias`` to the score of the last token of each listed sequence when the text
  ends with the rest of it (a one-token sequence is always biased); bad words are the same with
  ``-inf``.

Same semantics and tie behaviour as the Hugging Face processors of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation.processors.base import NEG_INF, check_scores, check_token_ids, eos_ids


def repetition_penalty(
    input_ids: torch.Tensor,
    scores: torch.Tensor,
    penalty: float,
    *,
    ignore_before: torch.Tensor | int | None = None,
) -> torch.Tensor:
    """Penalise every distinct id already in ``input_ids``, once: negative scores are multiplied by
    ``penalty`` and positive ones divided (CTRL paper, HF semantics).

    ``ignore_before`` (int or ``(batch,)`` tensor) excludes leading positions, e.g. left padding.
    """
    check_scores(scores)
    if not penalty > 0:
        raise ConfigError(f"repetition_penalty must be > 0 (1.0 = off, >1 discourages repeats), got {penalty!r}")
    vocab = scores.size(-1)
    if isinstance(ignore_before, int):
        input_ids = input_ids[:, ignore_before:]
    elif ignore_before is not None:
        # Ignored positions point at a spare column past the vocab that we drop at the end.
        positions = torch.arange(input_ids.size(1), device=input_ids.device)
        input_ids = input_ids.masked_fill(positions[None, :] < ignore_before[:, None], vocab)
    ids = input_ids.clamp(max=vocab)  # (B, T); ids beyond the head's vocab land in the spare column
    padded = torch.nn.functional.pad(scores, (0, 1))  # (B, V + 1)
    seen = padded.gather(1, ids)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    # Duplicate ids scatter the same value, so each distinct id is penalised exactly once.
    return padded.scatter(1, ids, seen)[:, :vocab]


def no_repeat_ngram(input_ids: torch.Tensor, scores: torch.Tensor, n: int) -> torch.Tensor:
    """Ban every token that would complete an n-gram already present in ``input_ids``."""
    check_scores(scores)
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"no_repeat_ngram_size must be an integer >= 1, got {n!r}")
    seq_len = input_ids.size(1)
    if seq_len < n:
        return scores
    prefix = input_ids[:, seq_len - n + 1 :]  # (B, n-1): the n-gram the next token would complete
    windows = input_ids.unfold(1, n, 1)  # (B, seq_len - n + 1, n) every n-gram so far
    return _ban_completions(scores, windows, prefix)


def _ban_completions(scores: torch.Tensor, windows: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
    """Ban the last token of every n-gram in ``windows`` (rows, W, n) whose first n-1 equal ``prefix`` (rows, n-1)."""
    matches = (windows[..., :-1] == prefix[:, None, :]).all(dim=-1)  # (rows, W)
    vocab = scores.size(-1)
    # Non-matching windows write to a spare column so they cannot un-ban another window's token.
    banned_ids = torch.where(matches, windows[..., -1].clamp(max=vocab), vocab)
    banned = torch.zeros(scores.size(0), vocab + 1, dtype=torch.bool, device=scores.device)
    banned.scatter_(1, banned_ids, True)
    return scores.masked_fill(banned[:, :vocab], NEG_INF)


def _per_row(encoder_input_ids: torch.Tensor, rows: int) -> torch.Tensor:
    """Encoder rows repeated for the beams / samples of each prompt: (B_enc, S) -> (rows, S)."""
    if encoder_input_ids.dim() == 1:
        encoder_input_ids = encoder_input_ids[None]
    if rows % encoder_input_ids.size(0):
        raise ConfigError(
            f"encoder_input_ids has {encoder_input_ids.size(0)} rows, which does not divide the {rows} rows of scores"
        )
    if encoder_input_ids.size(0) == rows:
        return encoder_input_ids  # already one row per score row: no copy
    return encoder_input_ids.repeat_interleave(rows // encoder_input_ids.size(0), dim=0)


def encoder_repetition_penalty(scores: torch.Tensor, encoder_input_ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """Scores of the ids in ``encoder_input_ids`` are multiplied by ``penalty`` when positive (divided
    when negative): ``penalty > 1`` favours tokens of the input, ``< 1`` discourages them."""
    check_scores(scores)
    if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not penalty > 0:
        raise ConfigError(f"encoder_repetition_penalty must be > 0 (1.0 = off), got {penalty!r}")
    ids = _per_row(encoder_input_ids, scores.size(0))
    seen = scores.gather(1, ids)
    inverse = 1 / penalty  # the reference stores 1/penalty and applies the ordinary rule with it
    seen = torch.where(seen < 0, seen * inverse, seen / inverse)
    return scores.scatter(1, ids, seen)


def encoder_no_repeat_ngram(input_ids: torch.Tensor, scores: torch.Tensor, encoder_input_ids: torch.Tensor, n: int) -> torch.Tensor:
    """Ban every token that would make the last ``n`` tokens an n-gram of the row's encoder input."""
    check_scores(scores)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"encoder_no_repeat_ngram_size must be an integer >= 1, got {n!r}")
    source = _per_row(encoder_input_ids, scores.size(0))
    if source.size(1) < n or input_ids.size(1) < n - 1:
        return scores
    windows = source.unfold(1, n, 1)  # (rows, W, n) every n-gram of the encoder input
    prefix = input_ids[:, input_ids.size(1) - (n - 1) :]  # (rows, n-1); empty for n = 1
    return _ban_completions(scores, windows, prefix)


def normalize_sequence_bias(sequence_bias) -> dict[tuple[int, ...], float]:
    """``{(ids...): bias}`` from a dict with tuple keys or a list of ``[[ids...], bias]`` pairs."""
    pairs = sequence_bias.items() if isinstance(sequence_bias, dict) else sequence_bias
    try:
        out = {tuple(check_token_ids("sequence_bias key", list(ids))): float(bias) for ids, bias in pairs}
    except (TypeError, ValueError):
        out = {}
    if not out:
        raise ConfigError(
            f"sequence_bias={sequence_bias!r} is invalid: use {{(token ids...): bias}} or [[[ids...], bias], ...]"
        )
    return out


def sequence_bias(input_ids: torch.Tensor, scores: torch.Tensor, biases) -> torch.Tensor:
    """Add each sequence's bias to its last token's score where the text ends with the sequence's
    other tokens (one-token sequences: always). ``biases``: ``{(ids...): bias}`` or list pairs."""
    check_scores(scores)
    return _apply_bias(input_ids, scores, _bias_tables(normalize_sequence_bias(biases), scores.size(-1), scores.device))


def _bias_tables(biases: dict[tuple[int, ...], float], vocab: int, device: torch.device):
    """The device tensors of normalised ``biases``: the one-token bias row (or None) and, per prefix
    length, (prefixes (G, length), last tokens (G,), values (G,)). Built once per (vocab, device)."""
    out_of_range = sorted({t for seq in biases for t in seq if t >= vocab})
    if out_of_range:
        raise ConfigError(f"sequence_bias / bad_words_ids name token ids {out_of_range} outside the vocabulary of {vocab}")
    row = None
    single = {seq[0]: b for seq, b in biases.items() if len(seq) == 1}
    if single:
        row = torch.zeros(vocab, device=device)
        row[list(single)] = torch.tensor(list(single.values()), device=device)
    by_prefix_length: dict[int, list[tuple[tuple[int, ...], float]]] = {}
    for seq, b in biases.items():
        if len(seq) > 1:
            by_prefix_length.setdefault(len(seq) - 1, []).append((seq, b))
    groups = [
        (length,
         torch.tensor([seq[:-1] for seq, _ in group], device=device),
         torch.tensor([seq[-1] for seq, _ in group], device=device),
         torch.tensor([b for _, b in group], device=device))
        for length, group in by_prefix_length.items()
    ]  # fmt: skip
    return row, groups


def _apply_bias(input_ids: torch.Tensor, scores: torch.Tensor, tables) -> torch.Tensor:
    row, groups = tables
    bias = torch.zeros_like(scores)
    if row is not None:
        bias += row
    for length, prefixes, last, values in groups:
        if length > input_ids.size(1):
            continue  # the text is shorter than the prefix: nothing can match
        matches = (input_ids[:, None, -length:] == prefixes).all(dim=-1)  # (B, G)
        bias.index_add_(1, last, torch.where(matches, values, 0.0).to(bias.dtype))
    return scores + bias


def bad_words(input_ids: torch.Tensor, scores: torch.Tensor, bad_words_ids, eos_token_id=None) -> torch.Tensor:
    """Ban the last token of each listed sequence when the text ends with the rest of it; a
    one-token entry equal to an EOS id is skipped (banning EOS would never end the text)."""
    return sequence_bias(input_ids, scores, _bad_word_biases(bad_words_ids, eos_token_id))


def _bad_word_biases(bad_words_ids, eos_token_id) -> dict[tuple[int, ...], float]:
    words = check_token_ids("bad_words_ids", bad_words_ids, nested=True)
    eos = eos_ids(eos_token_id) or []
    words = [w for w in words if not (len(w) == 1 and w[0] in eos)]
    return {tuple(w): NEG_INF for w in words}


# ----------------------------------------------------------------------------- composable classes


@dataclass
class RepetitionPenalty:
    penalty: float
    ignore_before: torch.Tensor | int | None = None  # per-row left-padding length

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return repetition_penalty(input_ids, scores, self.penalty, ignore_before=self.ignore_before)


@dataclass
class NoRepeatNGram:
    n: int

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return no_repeat_ngram(input_ids, scores, self.n)


@dataclass
class EncoderRepetitionPenalty:
    penalty: float
    encoder_input_ids: torch.Tensor

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return encoder_repetition_penalty(scores, self.encoder_input_ids, self.penalty)


@dataclass
class EncoderNoRepeatNGram:
    n: int
    encoder_input_ids: torch.Tensor

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return encoder_no_repeat_ngram(input_ids, scores, self.encoder_input_ids, self.n)


@dataclass
class SequenceBias:
    biases: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.biases = normalize_sequence_bias(self.biases)
        self._tables: dict = {}  # (vocab, device) -> _bias_tables: built on the first call, not per token

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        check_scores(scores)
        key = (scores.size(-1), scores.device)
        if key not in self._tables:
            self._tables[key] = _bias_tables(self.biases, *key)
        return _apply_bias(input_ids, scores, self._tables[key])


class BadWords(SequenceBias):
    def __init__(self, bad_words_ids, eos_token_id=None):
        super().__init__(_bad_word_biases(bad_words_ids, eos_token_id))
