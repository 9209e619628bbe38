"""Diverse (group) beam search: Vijayakumar et al. 2016, "Diverse Beam Search".

The ``num_beams`` beams of a prompt are split into ``num_beam_groups`` groups of
``S = num_beams / num_beam_groups``. Each step the groups are decoded one after the other; group
``g`` is an ordinary beam search over its S beams, except that every token already chosen at this
step by groups ``0..g-1`` of the same prompt costs ``diversity_penalty`` per choice (the Hamming
diversity term)::

    score_g(token) = log p(token | beam) [processed] - diversity_penalty * count(token in earlier groups' picks)

Each (prompt, group) keeps its own S best finished hypotheses (an EOS among the group's S best
candidates finishes one, scored ``sum logp / generated_len ** length_penalty``) and stops on its
own (``early_stopping`` True / False / "never", as in beam search); at the end the unfinished beams
join their group's hypotheses and the ``num_return_sequences`` best of all groups are returned.
A finished hypothesis ends with EOS; shorter ones are padded with ``pad_token_id``.

The bookkeeping follows the algorithm as transformers implemented it up to 4.4x (its
``_group_beam_search``; transformers 5 moved it out of the library to a hub repository). Outputs are
checked against transformers 4.46.3 (``tests/generation/reference/``).
"""

from __future__ import annotations

import torch

from scratchformers.generation.beam_search import NEG_LARGE
from scratchformers.generation.outputs import GenerateOutput
from scratchformers.generation.processors import LogitsProcessorList, SequenceBias


class Hypotheses:
    """The ``size`` best finished hypotheses of one (prompt, group): ``(score, token ids)``."""

    def __init__(self, size: int, length_penalty: float, early_stopping: bool | str, max_length: int):
        self.size, self.length_penalty, self.early_stopping, self.max_length = size, length_penalty, early_stopping, max_length
        self.items: list[tuple[float, list[int]]] = []
        self.worst = 1e9

    def add(self, tokens: list[int], sum_logprobs: float, generated_len: int) -> None:
        score = sum_logprobs / (generated_len**self.length_penalty)
        if len(self.items) < self.size or score > self.worst:
            self.items.append((score, tokens))
            if len(self.items) > self.size:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.items))
                del self.items[ranked[0][1]]  # drop the worst; ties: the earliest added goes
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum_logprobs: float, cur_len: int, prompt_len: int) -> bool:
        """Full, and no running beam can beat the worst kept hypothesis any more."""
        if len(self.items) < self.size:
            return False
        if self.early_stopping is True:
            return True
        longest = self.early_stopping == "never" and self.length_penalty > 0.0
        length = (self.max_length if longest else cur_len) - prompt_len
        return self.worst >= best_sum_logprobs / length**self.length_penalty


def hamming_penalty(scores: torch.Tensor, earlier_tokens: torch.Tensor, penalty: float) -> torch.Tensor:
    """``scores`` (B, S, V) minus ``penalty`` x how often each token is in ``earlier_tokens`` (B, n)."""
    if earlier_tokens.size(1) == 0 or penalty == 0:
        return scores
    counts = torch.zeros(scores.size(0), scores.size(-1), dtype=scores.dtype, device=scores.device)
    counts.scatter_add_(1, earlier_tokens, torch.ones_like(earlier_tokens, dtype=scores.dtype))
    return scores - penalty * counts[:, None, :]


def group_beam_search(d) -> GenerateOutput:
    """The decoding loop for ``num_beam_groups > 1`` (``d`` is the :class:`~scratchformers.generation.generate.Decoding`)."""
    config = d.config
    K, G = config.num_beams, config.num_beam_groups
    S = K // G
    prompt, max_length = d.state.prompt, d.state.max_length
    rows, prompt_len = prompt.shape
    B, device = rows // K, prompt.device
    sequences = torch.empty(rows, max_length, dtype=torch.long, device=device)
    sequences[:, :prompt_len] = prompt
    # only the first beam of each group starts alive (otherwise a group picks one token S times)
    beam_scores = torch.full((B, K), NEG_LARGE, device=device)
    beam_scores[:, ::S] = 0
    beam_scores = beam_scores.view(-1)
    hyps = [[Hypotheses(S, config.length_penalty, config.early_stopping, max_length) for _ in range(G)] for _ in range(B)]
    done = [[False] * G for _ in range(B)]
    eos = set(d.eos or [])
    candidates = max(2, 1 + len(eos)) * S
    # the reference applies the diversity term right after the sequence bias, before every other
    # processor (bad words included: BadWords subclasses SequenceBias, hence `type(p) is`)
    head = LogitsProcessorList(p for p in d.processors if type(p) is SequenceBias)
    tail = LogitsProcessorList(p for p in d.processors if type(p) is not SequenceBias)
    offsets = torch.arange(B, device=device)[:, None] * K
    group_rows = [(offsets + g * S + torch.arange(S, device=device)).view(-1) for g in range(G)]  # (B*S,) per group
    cur_len = prompt_len
    while cur_len < max_length:
        logits = d.next_logits(sequences, cur_len)  # (rows, V)
        ids = sequences[:, :cur_len]
        log_probs = head(ids, logits.log_softmax(dim=-1)) if head else logits.log_softmax(dim=-1)
        vocab = log_probs.size(-1)
        new_tokens = torch.zeros(rows, dtype=torch.long, device=device)  # this step's picks
        parents = torch.arange(rows, device=device)
        processed = torch.empty_like(log_probs) if d.recorder.scores is not None else None  # only when recorded
        for g in range(G):
            rows_g = group_rows[g]
            earlier = new_tokens.view(B, K)[:, : g * S]  # (B, g*S) picks of the groups before
            penalised = hamming_penalty(log_probs.view(B, K, vocab)[:, g * S : (g + 1) * S], earlier, config.diversity_penalty)
            if tail:  # the processors see the whole batch (they may read every row's ids)
                work = log_probs.clone()
                work.view(B, K, vocab)[:, g * S : (g + 1) * S] = penalised
                scores = tail(ids, work)[rows_g]  # (B*S, V), row-wise processors
            else:
                scores = penalised.reshape(B * S, vocab)
            if processed is not None:
                processed[rows_g] = scores
            total = (scores + beam_scores[rows_g, None]).view(B, S * vocab)
            top_scores, top_index = torch.topk(total, candidates, dim=1)  # (B, 2S) best first
            _advance_group(d, g, S, K, top_scores, top_index // vocab, top_index % vocab, sequences, cur_len,
                           prompt_len, hyps, done, eos, new_tokens, parents, beam_scores)  # fmt: skip
        d.recorder.record(logits, processed)
        sequences[:, : cur_len + 1] = sequences[parents, : cur_len + 1]
        sequences[:, cur_len] = new_tokens
        cur_len += 1
        if all(all(row) for row in done):
            break
        d.state.reorder(parents)
    return _finalize(d, sequences, beam_scores, cur_len, prompt_len, hyps, done, S, K)


def _advance_group(d, g, S, K, top_scores, top_beam, top_token, sequences, cur_len, prompt_len, hyps, done, eos,
                   new_tokens, parents, beam_scores) -> None:  # fmt: skip
    """One group's step for every prompt: EOS candidates among the S best finish a hypothesis,
    the S best other candidates become the group's beams (pad for a finished group)."""
    for b in range(top_scores.size(0)):
        first = b * K + g * S  # the group's first row
        if done[b][g]:
            new_tokens[first : first + S] = d.pad if d.pad is not None else 0
            beam_scores[first : first + S] = 0
            continue
        filled = 0
        scores, beams, tokens = top_scores[b].tolist(), top_beam[b].tolist(), top_token[b].tolist()
        for rank, (score, beam, token) in enumerate(zip(scores, beams, tokens)):
            source = first + beam
            if token in eos:
                if rank < S:  # only EOS among the S best may finish a hypothesis
                    hyps[b][g].add(sequences[source, :cur_len].tolist(), score, cur_len + 1 - prompt_len)
            else:
                row = first + filled
                new_tokens[row], parents[row], beam_scores[row] = token, source, top_scores[b, rank]
                filled += 1
            if filled == S:
                break
        done[b][g] = hyps[b][g].is_done(scores[0], cur_len + 1, prompt_len)


def _finalize(d, sequences, beam_scores, cur_len, prompt_len, hyps, done, S, K) -> GenerateOutput:
    """Unfinished beams join their group's hypotheses; the best ``num_return_sequences`` of all groups."""
    for b in range(len(hyps)):
        for g, group in enumerate(hyps[b]):
            if not done[b][g]:
                for row in range(b * K + g * S, b * K + (g + 1) * S):
                    group.add(sequences[row, :cur_len].tolist(), float(beam_scores[row]), cur_len - prompt_len)
    return finished_sequences(d, [[item for group in groups for item in group.items] for groups in hyps])


def finished_sequences(d, per_prompt: list[list[tuple[float, list[int]]]]) -> GenerateOutput:
    """The ``num_return_sequences`` best ``(score, tokens)`` of each prompt as a padded batch: a
    hypothesis shorter than the longest ends with EOS, then ``pad_token_id``."""
    n = d.config.num_return_sequences
    best: list[list[int]] = []
    best_scores = torch.zeros(len(per_prompt) * n, dtype=torch.float32, device=d.state.prompt.device)
    for b, items in enumerate(per_prompt):
        ranked = sorted(items, key=lambda item: item[0])
        for j in range(n):
            score, tokens = ranked.pop()  # best last; among equal scores the later one
            best.append(tokens)
            best_scores[b * n + j] = score
    width = min(max(len(t) for t in best) + 1, d.state.max_length)
    out = torch.full((len(best), width), d.pad if d.pad is not None else 0, dtype=torch.long, device=best_scores.device)
    for i, tokens in enumerate(best):
        out[i, : len(tokens)] = torch.tensor(tokens)
        if len(tokens) < width and d.eos:
            out[i, len(tokens)] = d.eos[0]  # a finished hypothesis ends with its EOS
    keep_scores = best_scores if d.recorder.scores is not None else None
    return d.recorder.output(out, sequences_scores=keep_scores)
