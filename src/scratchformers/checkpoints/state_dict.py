"""Strict state-dict loading with one readable report.

We compare the whole checkpoint with the model before touching it and report every problem at
once, each with its name, expected shape and found shape, in our model's tensor names::

    checkpoint does not match GPT from gpt2-folder (2 problems):
      missing    blocks.3.self_attn.q_proj.weight  expected (768, 768)
      mismatched token_embedding.weight            expected (50257, 768)  found (50304, 768)

``strict=True`` raises that as a :class:`CheckpointError`; ``strict=False`` warns and loads the
tensors that fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from scratchformers.errors import CheckpointError, shape_str


@dataclass
class LoadReport:
    """What did not fit: each entry is (name, expected shape, found shape); None where absent."""

    missing: list[tuple[str, tuple, None]] = field(default_factory=list)
    unexpected: list[tuple[str, None, tuple]] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self) -> list[tuple[str, str, tuple | None, tuple | None]]:
        rows = [("missing", *row) for row in self.missing]
        rows += [("mismatched", *row) for row in self.mismatched]
        rows += [("unexpected", *row) for row in self.unexpected]
        return rows

    def format(self, target: str = "the model", limit: int = 40) -> str:
        rows = self.problems()
        width = max((len(name) for _, name, _, _ in rows), default=0)
        lines = [f"checkpoint does not match {target} ({len(rows)} problem{'s' * (len(rows) != 1)}):"]
        for kind, name, expected, found in rows[:limit]:
            text = f"  {kind:<10} {name:<{width}}"
            if expected is not None:
                text += f"  expected {shape_str(expected)}"
            if found is not None:
                text += f"  found {shape_str(found)}"
            lines.append(text)
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more")
        return "\n".join(lines)


def tied_aliases(model: nn.Module) -> dict[str, str]:
    """``{alias: canonical}`` for state-dict entries that share storage with an earlier entry.

    A tied LM head (``lm_head.weight`` is the embedding matrix) appears twice in ``state_dict()``;
    a checkpoint needs only one of the names.
    """
    seen: dict[int, str] = {}
    aliases = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        key = id(tensor)
        if key in seen:
            aliases[name] = seen[key]
        else:
            seen[key] = name
    return aliases


def compare(expected: Mapping[str, torch.Size], found: Mapping[str, torch.Tensor]) -> LoadReport:
    """Every missing, unexpected and mis-shaped name between a model's and a checkpoint's tensors."""
    report = LoadReport()
    for name, shape in expected.items():
        if name not in found:
            report.missing.append((name, tuple(shape), None))
        elif tuple(found[name].shape) != tuple(shape):
            report.mismatched.append((name, tuple(shape), tuple(found[name].shape)))
    report.unexpected = [(name, None, tuple(t.shape)) for name, t in found.items() if name not in expected]
    return report


def _refuse_non_float(own: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], source: str) -> None:
    bad = [(name, t.dtype) for name, t in found.items()
           if name in own and own[name].is_floating_point() and not t.is_floating_point()]
    if bad:
        listed = ", ".join(f"{name} ({str(dtype).removeprefix('torch.')})" for name, dtype in bad[:5])
        raise CheckpointError(
            f"checkpoint{' ' + source if source else ''} stores {len(bad)} weight(s) as non-float tensors where the "
            f"model holds floats: {listed}{' ...' if len(bad) > 5 else ''}. Weights are floating point; the file "
            "is corrupted or not a checkpoint of this model. Pass allow_non_float_weights=True to cast them anyway."
        )


def check_state(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    source: str = "",
    allow_missing: Iterable[str] = (),
    allow_non_float_weights: bool = False,
) -> tuple[LoadReport, dict[str, torch.Size], dict[str, torch.Tensor]]:
    """Compare ``state_dict`` with ``model`` without copying: ``(report, expected shapes, found tensors)``.

    Raises for a strict mismatch or a non-float tensor; works on a model built on the ``meta``
    device (shapes and dtypes, no memory), which is how loading checks before allocating.
    """
    aliases = tied_aliases(model)
    own = model.state_dict()
    skip = set(aliases) | set(allow_missing)
    expected = {name: t.shape for name, t in own.items() if name not in skip}
    # A tied alias present in the checkpoint must still agree with its canonical tensor's shape.
    found = dict(state_dict)
    for alias, canonical in aliases.items():
        if alias in found and canonical in found and found[alias].shape == found[canonical].shape:
            del found[alias]
        elif alias in found and canonical not in found:
            found[canonical] = found.pop(alias)
    report = compare(expected, found)
    if not allow_non_float_weights:
        _refuse_non_float(own, found, source)
    if not report.ok and strict:
        target = type(model).__name__ + (f" from {source}" if source else "")
        raise CheckpointError(
            report.format(target) + "\nCheck that the config matches the weights (a different size or "
            "architecture?); pass strict=False to load the tensors that fit and keep the rest as initialised."
        )
    return report, expected, found


def load_into(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    source: str = "",
    allow_missing: Iterable[str] = (),
    allow_non_float_weights: bool = False,
) -> LoadReport:
    """Copy ``state_dict`` into ``model`` (casting to the model's dtype), strictly by default.

    ``allow_missing`` names tensors the checkpoint may lack (a new task head) without an error.
    Integer or boolean tensors for floating-point parameters are refused before anything is
    copied (a cast would silently turn a corrupted or foreign file into weights) unless
    ``allow_non_float_weights=True``.
    """
    report, expected, found = check_state(
        model, state_dict, strict=strict, source=source, allow_missing=allow_missing,
        allow_non_float_weights=allow_non_float_weights,
    )
    if not report.ok:
        warnings.warn(report.format(type(model).__name__ + (f" from {source}" if source else "")), stacklevel=3)
    bad = {name for name, _, _ in report.mismatched}
    targets = model.state_dict(keep_vars=True)  # the Parameter / buffer objects themselves
    with torch.no_grad():
        for name, tensor in found.items():
            if name in expected and name not in bad:
                target = targets[name]
                # Swap the storage instead of copying into it: no second copy of every weight, and
                # the Parameter object (shared by tied weights) stays the same.
                target.data = tensor.to(dtype=target.dtype, device=target.device).contiguous()
    return report
