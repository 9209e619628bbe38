"""Constrained beam search: every returned sequence contains each phrase of ``force_words_ids``
(Hokamp & Liu 2017 grid beam search, in the "banks" form of Post & Vilar 2018).

Each step runs an ordinary beam step, then widens the candidates: every beam also proposes the
next token of the phrase it is inside (or the first token of every phrase it has not started).
The candidates are ranked by *bank*, how much of the constraints a candidate has fulfilled
(``complete phrases * longest phrase + longest - tokens left in the current one``), and the ``num_beams``
beams are taken round-robin across banks (the best of each bank, then the second best, ...), so
beams that made progress survive against higher-scoring beams that made none. An EOS finishes a
hypothesis only when the sequence (prompt included) satisfies every constraint; at the end, the
beams that satisfy them join the hypotheses, and if fewer than ``num_return_sequences`` do, the
unsatisfied ones too.

The bookkeeping follows transformers up to 4.4x (its ``_constrained_beam_search`` with
``PhrasalConstraint``; transformers 5 moved it to a hub repository); outputs are checked against
transformers 4.46.3 (``tests/generation/reference/``). Disjunctive constraints (one of several
phrases) are not implemented.
"""

from __future__ import annotations

import copy

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation.beam_search import NEG_LARGE
from scratchformers.generation.group_beam_search import Hypotheses, finished_sequences
from scratchformers.generation.outputs import GenerateOutput
from scratchformers.generation.processors.base import check_token_ids


def check_phrases(force_words_ids) -> list[list[int]]:
    """The phrases as lists of ids; a disjunctive entry (a list of alternative phrases) gets its own message."""
    nested = isinstance(force_words_ids, (list, tuple)) and any(
        isinstance(p, (list, tuple)) and p and isinstance(p[0], (list, tuple)) for p in force_words_ids
    )
    if nested:
        raise ConfigError(f"force_words_ids={force_words_ids!r} is invalid: disjunctive constraints "
                          "(a list of alternative phrases) are not implemented")  # fmt: skip
    return check_token_ids("force_words_ids", force_words_ids, nested=True)


class ConstraintState:
    """How far one sequence is through the phrases: completed, the one in progress, those not started."""

    def __init__(self, phrases: list[list[int]], tokens: list[int] | None = None):
        self.phrases = phrases
        self.longest = max(len(p) for p in phrases)
        self.done: list[list[int]] = []
        self.current: tuple[list[int], int] | None = None  # (phrase, tokens matched so far)
        self.pending: list[list[int]] = list(phrases)
        self.completed = False
        for token in tokens or []:
            self.add(token)
            if self.completed:
                break

    def bank(self) -> int:
        """``complete phrases * longest + (longest - tokens left in the current phrase)``: starting a
        short phrase counts as much as being as close to the end of a long one."""
        if self.current is None:
            return len(self.done) * self.longest
        phrase, matched = self.current
        return len(self.done) * self.longest + self.longest - (len(phrase) - matched)

    def next_tokens(self) -> list[int]:
        """The tokens that make progress: the current phrase's next one, else every pending phrase's first."""
        if self.current is not None:
            phrase, matched = self.current
            return [phrase[matched]]
        return [phrase[0] for phrase in self.pending]

    def add(self, token: int) -> None:
        if self.completed:
            return
        if self.current is not None:
            phrase, matched = self.current
            if token != phrase[matched]:  # broken off: the phrase goes back to the end of the queue
                self.pending.append(phrase)
                self.current = None
            elif matched + 1 == len(phrase):
                self.done.append(phrase)
                self.current = None
                self.completed = not self.pending
            else:
                self.current = (phrase, matched + 1)
            return
        for i, phrase in enumerate(self.pending):
            if token == phrase[0]:
                del self.pending[i]
                if len(phrase) == 1:
                    self.done.append(phrase)
                else:
                    self.current = (phrase, 1)
                self.completed = not self.pending and self.current is None
                return


def constrained_beam_search(d) -> GenerateOutput:
    """The decoding loop for ``force_words_ids`` (``d`` is the generate ``Decoding``)."""
    phrases = [list(p) for p in d.config.force_words_ids]  # validated by generate (check_phrases)
    K = d.config.num_beams
    prompt, max_length = d.state.prompt, d.state.max_length
    rows, prompt_len = prompt.shape
    B, device = rows // K, prompt.device
    sequences = torch.empty(rows, max_length, dtype=torch.long, device=device)
    sequences[:, :prompt_len] = prompt
    beam_scores = torch.zeros(B, K, device=device)
    beam_scores[:, 1:] = NEG_LARGE  # only the first beam starts alive
    beam_scores = beam_scores.view(-1)
    hyps = [Hypotheses(K, d.config.length_penalty, d.config.early_stopping, max_length) for _ in range(B)]
    done = [False] * B
    eos = set(d.eos or [])
    candidates = max(2, 1 + len(eos)) * K
    cur_len = prompt_len
    while cur_len < max_length:
        logits = d.next_logits(sequences, cur_len)
        processed = logits.log_softmax(dim=-1)
        if d.processors:
            processed = d.processors(sequences[:, :cur_len], processed)
        all_vocab = processed + beam_scores[:, None]  # (rows, V) accumulated scores
        d.recorder.record(logits, all_vocab)
        vocab = all_vocab.size(-1)
        if cur_len == prompt_len:
            _check_vocab(phrases, vocab)
        top_scores, top_index = torch.topk(all_vocab.view(B, K * vocab), candidates, dim=1)
        ids = sequences[:, :cur_len].tolist()
        new_scores = beam_scores.clone()
        new_tokens = torch.zeros(rows, dtype=torch.long, device=device)
        parents = torch.arange(rows, device=device)
        for b in range(B):
            if done[b]:
                new_scores[b * K : (b + 1) * K], new_tokens[b * K : (b + 1) * K] = 0, d.pad if d.pad is not None else 0
                continue
            picked = _beam_step(b, K, top_scores[b], top_index[b], vocab, ids, eos, phrases, hyps[b], cur_len, prompt_len)
            scores, tokens, rows_from = _widen(b, K, ids, all_vocab, phrases, *picked)
            new_scores[b * K : (b + 1) * K], new_tokens[b * K : (b + 1) * K], parents[b * K : (b + 1) * K] = scores, tokens, rows_from
            done[b] = hyps[b].is_done(float(top_scores[b, 0]), cur_len + 1, prompt_len)
        sequences[:, :cur_len] = sequences[parents, :cur_len]
        sequences[:, cur_len] = new_tokens
        beam_scores = new_scores
        cur_len += 1
        if all(done):
            break
        d.state.reorder(parents)
    for b in range(B):
        if not done[b]:
            _add_final_beams(b, K, sequences[:, :cur_len].tolist(), beam_scores, phrases, hyps[b], prompt_len, d.config.num_return_sequences)
    return finished_sequences(d, [hyp.items for hyp in hyps])


def _check_vocab(phrases: list[list[int]], vocab: int) -> None:
    outside = sorted({t for phrase in phrases for t in phrase if t >= vocab})
    if outside:
        raise ConfigError(f"force_words_ids name token ids {outside} outside the vocabulary of {vocab}: use ids < {vocab}")


def _beam_step(b, K, scores, index, vocab, ids, eos, phrases, hyp, cur_len, prompt_len):
    """The ordinary step: EOS among the K best finishes a hypothesis if the constraints hold; the
    K best other candidates become (score, token, parent row) lists."""
    kept_scores, kept_tokens, kept_rows = [], [], []
    for rank, (score, flat) in enumerate(zip(scores.tolist(), index.tolist())):
        row, token = b * K + flat // vocab, flat % vocab
        if token in eos:
            if rank < K and ConstraintState(phrases, ids[row]).completed:
                hyp.add(ids[row], score, cur_len + 1 - prompt_len)
        else:
            kept_scores.append(scores[rank])
            kept_tokens.append(token)
            kept_rows.append(row)
        if len(kept_rows) == K:
            break
    device = scores.device
    return torch.stack(kept_scores), torch.tensor(kept_tokens, device=device), torch.tensor(kept_rows, device=device)


def _widen(b, K, ids, all_vocab, phrases, scores, tokens, rows_from):
    """Add each beam's constraint-advancing continuations, rank by bank, take K round-robin across banks."""
    seqs = [ids[r] + [t] for r, t in zip(rows_from.tolist(), tokens.tolist())]
    states = [ConstraintState(phrases, s) for s in seqs]
    extra_scores, extra_tokens, extra_rows = [], [], []
    for row in range(b * K, (b + 1) * K):
        before = ConstraintState(phrases, ids[row])
        if before.completed:
            continue
        for token in before.next_tokens():
            advanced = copy.deepcopy(before)
            advanced.add(token)
            if ids[row] + [token] not in seqs:
                seqs.append(ids[row] + [token])
                states.append(advanced)
                extra_scores.append(all_vocab[row, token])
                extra_tokens.append(token)
                extra_rows.append(row)
    if not extra_rows:
        return scores, tokens, rows_from
    device = scores.device  # the model's: every index tensor must live there too
    all_scores = torch.cat((scores, torch.stack(extra_scores)))
    all_tokens = torch.cat((tokens, torch.tensor(extra_tokens, device=device)))
    all_rows = torch.cat((rows_from, torch.tensor(extra_rows, device=device)))
    banks = torch.tensor([s.bank() for s in states], device=device)
    order = (banks * 100 + all_scores).sort(descending=True).indices  # by bank, then score
    sorted_banks = banks[order].tolist()
    # position within each run of equal banks in that order (a run restarts when the bank changes)
    rank_in_run, counter, current = [], -1, sorted_banks[0]
    for bank in sorted_banks:
        counter = counter + 1 if bank == current else 0
        current = bank
        rank_in_run.append(counter)
    round_robin = torch.tensor(rank_in_run, device=device).sort(stable=True).indices
    order = order[round_robin][:K]
    return all_scores[order], all_tokens[order], all_rows[order]


def _add_final_beams(b, K, ids, beam_scores, phrases, hyp, prompt_len, keep):
    satisfied = [row for row in range(b * K, (b + 1) * K) if ConstraintState(phrases, ids[row]).completed]
    for row in satisfied:
        hyp.add(ids[row], float(beam_scores[row]), len(ids[row]) - prompt_len)
    if len(satisfied) < keep:  # not enough: the unsatisfied beams too (the reference adds them all)
        for row in range(b * K, (b + 1) * K):
            if row not in satisfied:
                hyp.add(ids[row], float(beam_scores[row]), len(ids[row]) - prompt_len)
