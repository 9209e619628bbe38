"""Stopping criteria: ``(input_ids) -> (batch,) bool``, True where a row is done.

Checked after every new token. A row that is done keeps receiving the pad token until every row
is done (or ``max_new_tokens`` is reached), exactly like HF ``generate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from scratchformers.errors import ConfigError

Criterion = Callable[[torch.Tensor], torch.Tensor]


class EosCriteria:
    """Done when the newest token is one of the end-of-sequence ids."""

    def __init__(self, eos_token_id: int | Sequence[int] | torch.Tensor):
        ids = torch.as_tensor([eos_token_id] if isinstance(eos_token_id, int) else eos_token_id)
        if ids.dim() != 1 or ids.numel() == 0 or ids.is_floating_point():
            raise ConfigError(f"eos_token_id must be an int or a non-empty list of ints, got {eos_token_id!r}")
        self.eos_token_id = ids.long()

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        self.eos_token_id = self.eos_token_id.to(input_ids.device)
        return torch.isin(input_ids[:, -1], self.eos_token_id)


class StopStringCriteria:
    """Done when a stop string appears in the decoded text and overlaps the newest token.

    Same rule as HF's ``StopStringCriteria``: the stop string may straddle several tokens and the
    last token may run past its end ("st" + "opper" stops on "stop"), but a stop string that lies
    entirely before the newest token does not count (it was already checked when it appeared).
    Implemented with plain string search on the decoded tail instead of HF's token embeddings.
    """

    def __init__(self, tokenizer, stop_strings: str | Sequence[str]):
        if tokenizer is None:
            raise ConfigError("stop_strings needs the tokenizer to decode tokens: pass tokenizer=...")
        strings = [stop_strings] if isinstance(stop_strings, str) else list(stop_strings)
        if not strings or not all(isinstance(s, str) and s for s in strings):
            raise ConfigError(f"stop_strings must be a non-empty string or list of them, got {stop_strings!r}")
        self.tokenizer = tokenizer
        self.stop_strings = strings
        # Every token decodes to at least one byte, so this many tokens always cover a stop string.
        self.window = max(len(s.encode("utf-8")) for s in strings) + 1

    def _row_done(self, ids: list[int]) -> bool:
        tail = ids[-self.window :]
        text = self.tokenizer.decode(tail)
        before = self.tokenizer.decode(tail[:-1])
        # The newest token's text starts where the text without it ends (byte-level tokens that
        # complete a character can rewrite a replacement char, so compare the common prefix).
        common = 0
        while common < min(len(text), len(before)) and text[common] == before[common]:
            common += 1
        for s in self.stop_strings:
            start = max(0, common - len(s) + 1)
            if s in text[start:]:
                return True
        return False

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        done = [self._row_done(row) for row in input_ids.tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class StoppingCriteriaList(list):
    """OR of its criteria; an empty list never stops (``max_new_tokens`` bounds the loop)."""

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        done = torch.zeros(input_ids.size(0), dtype=torch.bool, device=input_ids.device)
        for criterion in self:
            done |= criterion(input_ids)
        return done


def build_stopping_criteria(
    *, eos_token_id=None, stop_strings=None, tokenizer=None
) -> StoppingCriteriaList:
    criteria = StoppingCriteriaList()
    if eos_token_id is not None:
        criteria.append(EosCriteria(eos_token_id))
    if stop_strings:
        criteria.append(StopStringCriteria(tokenizer, stop_strings))
    return criteria
