"""Beam search bookkeeping, step for step the algorithm of HF ``generate`` (transformers 5.x).

Per prompt we keep ``K = num_beams`` *running* beams and the ``K`` best *finished* hypotheses.
Each step:

1. Every running beam proposes every token: accumulated log-prob = beam score + log p(token).
2. The best ``2K`` (more with several EOS ids) of the ``K * vocab`` candidates are kept (or
   sampled without replacement for beam sampling), so that ``K`` unfinished ones always remain.
3. Candidates that hit a stopping criterion (EOS, max length, stop string) and rank among the
   first ``K`` become finished hypotheses with score ``logp / gen_len ** length_penalty``, where
   ``gen_len`` counts generated tokens (the prompt excluded). The ``K`` best finished are kept.
4. The best ``K`` unfinished candidates become the new running beams; the caller reorders its KV
   cache with :attr:`BeamSearch.step` 's returned parent indices.
5. Early stop: with ``early_stopping=True`` a prompt is done once it has ``K`` finished
   hypotheses; with ``False`` once the best running beam, scored at the current length, cannot
   beat the worst finished one; with ``"never"`` that bound uses the best length still reachable.

All bookkeeping is batched tensors of shape ``(batch, beams, ...)``; no Python loop over beams.
"""

from __future__ import annotations

import torch

from scratchformers.generation.stopping import StoppingCriteriaList

NEG_LARGE = -1.0e9  # "impossible" score that stays finite (HF uses the same constant)


def _gather(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Select along dim 1: tensor (B, N, ...) with index (B, M) -> (B, M, ...)."""
    while index.dim() < tensor.dim():
        index = index.unsqueeze(-1)
    return torch.take_along_dim(tensor, index, dim=1)


class BeamSearch:
    def __init__(
        self,
        prompt_ids: torch.Tensor,
        *,
        num_beams: int,
        max_length: int,
        length_penalty: float = 1.0,
        early_stopping: bool | str = False,
        do_sample: bool = False,
        eos_token_id: list[int] | None = None,
        pad_token_id: int | None = None,
        stopping: StoppingCriteriaList | None = None,
        generator: torch.Generator | None = None,
        track_indices: bool = True,
    ):
        """``prompt_ids``: (batch * num_beams, prompt_len), every prompt repeated num_beams times.
        ``track_indices=False`` skips the ``beam_indices`` bookkeeping (``result`` gives None for them)."""
        rows, prompt_len = prompt_ids.shape
        self.batch_size, self.num_beams = rows // num_beams, num_beams
        self.prompt_len, self.cur_len, self.max_length = prompt_len, prompt_len, max_length
        self.length_penalty, self.early_stopping, self.do_sample = length_penalty, early_stopping, do_sample
        self.stopping = stopping if stopping is not None else StoppingCriteriaList()
        self.generator = generator
        num_eos = len(eos_token_id) if eos_token_id is not None else 0
        self.candidates = max(2, 1 + num_eos) * num_beams
        B, K, device = self.batch_size, num_beams, prompt_ids.device

        # Unused slots hold this id. HF writes `pad_token_id or eos_token_id[0]`, so a pad id of 0
        # falls back to the EOS id; we keep that quirk to return the very same tensors.
        fill = (pad_token_id or eos_token_id[0]) if eos_token_id is not None else -1
        self.running = torch.full((B, K, max_length), fill, dtype=torch.long, device=device)
        self.running[:, :, :prompt_len] = prompt_ids.view(B, K, prompt_len)
        self.finished = self.running.clone()
        # Only beam 0 starts alive, so the first step does not pick the same token K times.
        self.running_scores = torch.zeros(B, K, device=device)
        self.running_scores[:, 1:] = NEG_LARGE
        self.finished_scores = torch.full((B, K), NEG_LARGE, device=device)
        self.finished_lengths = torch.zeros(B, K, dtype=torch.long, device=device)  # generated tokens
        self.is_finished = torch.zeros(B, K, dtype=torch.bool, device=device)
        self.improvable = torch.ones(B, 1, dtype=torch.bool, device=device)
        self.hits_stop = torch.zeros(B, K, dtype=torch.bool, device=device)
        self.top_k_mask = torch.arange(self.candidates, device=device) < K  # (2K,) first K candidates
        # For each beam and generated position, the flat row (prompt * K + beam) its token extended;
        # -1 = not generated yet. Returned as ``beam_indices``; None when not tracked.
        self.running_indices = self.finished_indices = None
        if track_indices:
            self.running_indices = torch.full((B, K, max_length - prompt_len), -1, dtype=torch.int32, device=device)
            self.finished_indices = self.running_indices.clone()

    # ------------------------------------------------------------------------------ per step
    def current_tokens(self) -> torch.Tensor:
        """The newest token of each running beam, (batch * beams, 1): the next model input."""
        return self.running[:, :, self.cur_len - 1].reshape(-1, 1)

    def sequences_so_far(self) -> torch.Tensor:
        """(batch * beams, cur_len) running sequences, the ``input_ids`` the processors see."""
        return self.running[:, :, : self.cur_len].reshape(-1, self.cur_len)

    def step(self, log_probs: torch.Tensor) -> torch.Tensor:
        """Advance by one token given processed log-probs (batch * beams, vocab).

        Returns the parent of each new running beam as a flat row index (batch * beams,), to
        reorder the KV cache with.
        """
        B, K, cur = self.batch_size, self.num_beams, self.cur_len
        vocab = log_probs.size(-1)
        total = (log_probs.view(B, K, vocab) + self.running_scores[:, :, None]).view(B, K * vocab)

        # 2. the best `candidates` continuations over all beams of a prompt
        if self.do_sample:
            picked = torch.multinomial(total.softmax(dim=-1), self.candidates, generator=self.generator)
            cand_scores, order = total.gather(1, picked).sort(dim=-1, descending=True)
            picked = picked.gather(1, order)
        else:
            cand_scores, picked = torch.topk(total, self.candidates)  # (B, 2K)
        cand_parent = picked // vocab  # beam index within the prompt
        cand_seqs = _gather(self.running, cand_parent)  # (B, 2K, max_length)
        cand_seqs[:, :, cur] = picked % vocab
        batch_offset = torch.arange(B, device=picked.device)[:, None] * K
        cand_indices = None
        if self.running_indices is not None:
            cand_indices = _gather(self.running_indices, cand_parent)  # (B, 2K, generated)
            cand_indices[:, :, cur - self.prompt_len] = (cand_parent + batch_offset).to(torch.int32)

        # 3. which candidates are done (EOS, max length, stop strings)
        flat = cand_seqs[:, :, : cur + 1].reshape(B * self.candidates, cur + 1)
        hits = self.stopping(flat).view(B, self.candidates)
        if cur + 1 >= self.max_length:
            hits = torch.ones_like(hits)
        self.hits_stop = hits

        # 4. next running beams: the best K candidates that are not done
        running_cand = cand_scores + hits.to(torch.float32) * NEG_LARGE
        keep = torch.topk(running_cand, K).indices  # (B, K)
        self.running = _gather(cand_seqs, keep)
        self.running_scores = _gather(running_cand, keep)
        if cand_indices is not None:
            self.running_indices = _gather(cand_indices, keep)
        parent = _gather(cand_parent, keep)  # (B, K)

        self._update_finished(cand_seqs, cand_scores, hits, cand_indices)

        self.cur_len = cur + 1
        self._update_improvable()
        return (parent + batch_offset).view(-1)

    def _update_finished(
        self, cand_seqs: torch.Tensor, cand_scores: torch.Tensor, hits: torch.Tensor, cand_indices: torch.Tensor | None
    ) -> None:
        """Merge newly finished candidates into the K best finished hypotheses."""
        gen_len = self.cur_len + 1 - self.prompt_len
        just_finished = hits & self.top_k_mask[None, :]
        # The additions follow HF's order exactly so that ties break identically.
        scores = cand_scores / (gen_len**self.length_penalty)
        prompt_full = torch.all(self.is_finished, dim=-1, keepdim=True) & (self.early_stopping is True)
        scores += prompt_full.to(torch.float32) * NEG_LARGE
        scores += (~self.improvable).to(torch.float32) * NEG_LARGE
        scores += (~just_finished) * NEG_LARGE

        merged_seqs = torch.cat((self.finished, cand_seqs), dim=1)  # (B, K + 2K, max_length)
        merged_scores = torch.cat((self.finished_scores, scores), dim=1)
        merged_lengths = torch.cat((self.finished_lengths, torch.full_like(scores, gen_len, dtype=torch.long)), dim=1)
        merged_done = torch.cat((self.is_finished, just_finished), dim=1)
        best = torch.topk(merged_scores, self.num_beams).indices
        if cand_indices is not None:
            self.finished_indices = _gather(torch.cat((self.finished_indices, cand_indices), dim=1), best)
        self.finished = _gather(merged_seqs, best)
        self.finished_scores = _gather(merged_scores, best)
        self.finished_lengths = _gather(merged_lengths, best)
        self.is_finished = _gather(merged_done, best)

    def _update_improvable(self) -> None:
        """Can the best running beam still beat the worst finished hypothesis? (per prompt)"""
        if self.early_stopping == "never" and self.length_penalty > 0.0:
            best_len = self.max_length - self.prompt_len  # longer is better: assume the longest
        else:
            best_len = self.cur_len - self.prompt_len
        best_running = self.running_scores[:, :1] / (best_len**self.length_penalty)
        worst_finished = torch.where(
            self.is_finished, self.finished_scores.min(dim=1, keepdim=True).values, NEG_LARGE
        )
        self.improvable = self.improvable & torch.any(best_running > worst_finished, dim=-1, keepdim=True)

    def is_done(self) -> bool:
        improvement_possible = bool(self.improvable.any())
        all_full = bool(self.is_finished.all()) and self.early_stopping is True
        no_continuation = bool(self.hits_stop.all())
        return not improvement_possible or all_full or no_continuation

    # ------------------------------------------------------------------------------ result
    def result(self, num_return_sequences: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(sequences (batch * n, prompt_len + longest), scores (batch * n,), beam indices
        (batch * n, longest), None when not tracked), best first."""
        n = num_return_sequences
        seqs = self.finished[:, :n].reshape(self.batch_size * n, -1)
        scores = self.finished_scores[:, :n].reshape(-1)
        longest = int(self.finished_lengths[:, :n].max())
        indices = None
        if self.finished_indices is not None:
            indices = self.finished_indices[:, :n].reshape(self.batch_size * n, -1)[:, :longest]
        return seqs[:, : self.prompt_len + longest], scores, indices
