"""What ``generate(..., return_dict_in_generate=True)`` returns: the tokens and, on request, the
per-step scores and logits, with the same fields and values as transformers' ``Generate*Output``.

- ``sequences`` (rows, length): what ``generate`` returns without ``return_dict_in_generate``;
- ``scores`` (``output_scores=True``): one ``(rows, vocab)`` tensor per step, the PROCESSED scores
  the token was picked from (greedy / sampling: the logits after the processors; beam search: the
  log-softmax after the processors, before the beam's running score is added);
- ``logits`` (``output_logits=True``): one ``(rows, vocab)`` tensor per step, the raw float32 logits;
- ``beam_indices`` (beam search): ``(rows, generated)`` int32, for each returned sequence and step the
  flat row (``prompt * num_beams + beam``) its token was appended to; ``-1`` past the sequence's end;
- ``sequences_scores`` (beam search with ``output_scores``): ``(rows,)`` the final hypothesis scores
  ``sum log p / generated_len ** length_penalty``.

For beam search the rows of ``scores`` / ``logits`` are the running beams of that step
(``batch * num_beams`` rows), not the returned sequences; ``beam_indices`` links the two.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class GenerateOutput:
    sequences: torch.Tensor
    scores: tuple[torch.Tensor, ...] | None = None
    logits: tuple[torch.Tensor, ...] | None = None
    beam_indices: torch.Tensor | None = None
    sequences_scores: torch.Tensor | None = None

    def __getitem__(self, key: str):
        """``out["sequences"]`` as well as ``out.sequences`` (the reference's outputs allow both)."""
        if key not in {f.name for f in fields(self)}:
            raise KeyError(f"{key!r} is not a field of GenerateOutput; fields: {[f.name for f in fields(self)]}")
        return getattr(self, key)

    def keys(self) -> list[str]:
        """The fields that are set, like the reference's ``ModelOutput.keys()``."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


class StepRecorder:
    """Collects the per-step scores / logits that ``output_scores`` / ``output_logits`` ask for."""

    def __init__(self, *, scores: bool, logits: bool):
        self.scores: list[torch.Tensor] | None = [] if scores else None
        self.logits: list[torch.Tensor] | None = [] if logits else None

    def record(self, logits: torch.Tensor, scores: torch.Tensor) -> None:
        if self.logits is not None:
            self.logits.append(logits.clone())
        if self.scores is not None:
            self.scores.append(scores.clone())

    def output(self, sequences: torch.Tensor, **extra) -> GenerateOutput:
        as_tuple = lambda items: tuple(items) if items is not None else None  # noqa: E731
        return GenerateOutput(sequences, scores=as_tuple(self.scores), logits=as_tuple(self.logits), **extra)
