"""How the doctor calls a user's model: which argument takes the ids, which layout they have, and
how the extra arguments follow when the doctor changes the batch or the order of the tokens.

Inside the doctor ids are always batch-first ``(B, T)``. A sequence-first model (``nn.Transformer``
style, ``(T, B)`` ids) is detected by measurement: change one id and see whether the outputs change
along the first or the second axis. Extra arguments are passed exactly as the user gave them;
when the doctor needs ``n`` copies of the first example, each per-example tensor is cut to its
first row and *repeated* (a contiguous copy with the same dtype: a ``targets.view(-1)`` in the
user's code keeps working). When the doctor permutes the tokens, every per-token argument
(``token_type_ids``, ``attention_mask``, position ids ...) is permuted with them.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch
from torch import nn

from scratchformers.doctor import probe


@dataclass
class Call:
    model: nn.Module
    kwargs: dict = field(default_factory=dict)  # as the user gave them (for the full batch)
    input_arg: str | None = None  # the forward parameter that takes the ids (None: the first positional one)
    seq_first: bool = False  # the model takes (T, B) ids and returns (T, B, ...) outputs
    batch: int = 1  # batch size of the user's ids (to recognise per-example kwargs)
    seq_len: int = 1  # their length (to recognise per-token kwargs)

    def __call__(self, ids: torch.Tensor, kwargs: dict | None = None):
        """Run the model on batch-first ``ids`` with ``kwargs`` (default: the user's)."""
        kwargs = self.kwargs if kwargs is None else kwargs
        x = ids.t().contiguous() if self.seq_first else ids
        if self.input_arg:
            return self.model(**{self.input_arg: x}, **(kwargs or {}))
        return self.model(x, **(kwargs or {}))

    def main(self, out) -> torch.Tensor:
        """The main output tensor, batch-first."""
        t = probe.main_output(out)
        return t.transpose(0, 1) if self.seq_first and t.dim() >= 2 else t

    def run_main(self, ids, kwargs=None) -> torch.Tensor:
        return self.main(self(ids, kwargs))

    # ----- the user's extra arguments, for other batches / orders ---------------------------------------
    def _batch_axis(self, value: torch.Tensor) -> int | None:
        if value.dim() >= 1 and value.shape[0] in (self.batch, 1) and not self._square_mask(value):
            return 0
        return None

    def _square_mask(self, value: torch.Tensor) -> bool:
        return value.dim() >= 2 and value.shape[-1] == value.shape[-2] == self.seq_len

    def rows(self, n: int, kwargs: dict | None = None) -> dict:
        """Kwargs for ``n`` copies of the first example (contiguous copies, dtype unchanged)."""
        out = {}
        for key, value in (self.kwargs if kwargs is None else kwargs).items():
            if isinstance(value, torch.Tensor) and self._batch_axis(value) == 0:
                value = value[:1].repeat(n, *([1] * (value.dim() - 1)))
            out[key] = value
        return out

    def per_token(self, key: str, value) -> bool:
        """A per-example tensor whose last axis runs over the tokens (not a (T, T) structural mask)."""
        return (isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[-1] == self.seq_len
                and not self._square_mask(value) and (value.dim() == 1 or value.shape[0] in (self.batch, 1)))

    def permuted(self, perm: torch.Tensor, kwargs: dict | None = None) -> dict:
        """Kwargs with every per-token tensor reordered like the tokens."""
        out = {}
        for key, value in (self.kwargs if kwargs is None else kwargs).items():
            if self.per_token(key, value):
                value = value.index_select(-1, perm.to(value.device)).contiguous()
            out[key] = value
        return out

    def cut(self, length: int, kwargs: dict | None = None) -> dict:
        """Kwargs for the first ``length`` tokens (per-token tensors and square masks cut too)."""
        out = {}
        for key, value in (self.kwargs if kwargs is None else kwargs).items():
            if self._square_mask(value):
                value = value[..., :length, :length].contiguous()
            elif self.per_token(key, value):
                value = value[..., :length].contiguous()
            out[key] = value
        return out

    def accepts(self, name: str) -> bool:
        try:
            params = inspect.signature(self.model.forward).parameters
        except (TypeError, ValueError):
            return False
        return name in params


def infer_seq_first(model: nn.Module, ids: torch.Tensor, kwargs: dict | None, input_arg: str | None) -> bool:
    """Measure the layout: change ids[0, 1]; a batch-first model's outputs change in row 0 only, a
    sequence-first model's (ids[0, 1] = position 0 of example 1) in column 1 only."""
    if ids.dim() != 2 or min(ids.shape) < 2 or ids.shape[0] == ids.shape[1]:
        return False
    call = Call(model, kwargs or {}, input_arg)
    changed = ids.clone()
    vocab = probe.infer_vocab_size(model) or int(ids.max()) + 2
    changed[0, 1] = (changed[0, 1] + 1) % max(vocab, 2)
    try:
        with torch.no_grad():
            a, b = call.run_main(ids), call.run_main(changed)
    except Exception:  # noqa: BLE001 - a model that fails here fails in the main forward too
        return False
    if a.dim() < 2 or a.shape[:2] != ids.shape or a.shape != b.shape:
        return False
    moved = (a.float() - b.float()).abs().flatten(2).amax(-1) > 0 if a.dim() > 2 else (a != b)
    if not moved.any():
        return False
    only_row0 = not moved[1:].any()
    only_col1 = not moved[:, :1].any() and not moved[:, 2:].any()
    return bool(only_col1 and not only_row0)


def find_padding_mask(call: Call) -> tuple[str, torch.Tensor] | None:
    """The user's padding-mask argument (by name, per-token shape), or a synthesized
    ``attention_mask`` of ones when the forward takes one."""
    for key, value in call.kwargs.items():
        if "mask" in key.lower() and call.per_token(key, value) and value.dim() <= 4:
            return key, value
    for key, value in call.kwargs.items():  # lengths (d2l's valid_lens): (B,) integers
        if "len" in key.lower() and isinstance(value, torch.Tensor) and value.dim() == 1 \
                and value.shape[0] == call.batch and not value.is_floating_point():
            return key, value
    if call.accepts("attention_mask") and "attention_mask" not in call.kwargs:
        return "attention_mask", torch.ones(call.batch, call.seq_len, dtype=torch.long)
    return None
