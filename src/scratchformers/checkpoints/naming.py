"""Rename state-dict keys with small pattern tables shared by the ``convert_*`` modules.

A table is a list of ``(source, target)`` patterns where ``{i}`` stands for a layer index and
``{p}`` for ``weight`` or ``bias``::

    [("h.{i}.ln_1.{p}", "blocks.{i}.attn_norm.{p}"), ...]

Names no pattern matches are kept unchanged, so they surface as "unexpected" in the strict
loading report instead of disappearing silently.
"""

from __future__ import annotations

import re

import torch


def _compile(pattern: str) -> re.Pattern:
    regex = re.escape(pattern).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)")
    return re.compile("^" + regex + "$")


def rename(state: dict[str, torch.Tensor], table: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """A new dict whose keys are renamed by ``table`` (first matching pattern wins)."""
    compiled = [(_compile(src), dst) for src, dst in table]
    out = {}
    for name, tensor in state.items():
        for regex, target in compiled:
            match = regex.match(name)
            if match:
                name = target.format(**match.groupdict())
                break
        out[name] = tensor
    return out


def invert(table: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(dst, src) for src, dst in table]


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Drop ``prefix`` (e.g. ``"transformer."``) from every key that has it."""
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}


def fix_legacy_norm_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Old TensorFlow-era checkpoints call LayerNorm weight/bias ``gamma``/``beta``."""
    out = {}
    for name, tensor in state.items():
        if name.endswith(".gamma"):
            name = name[: -len("gamma")] + "weight"
        elif name.endswith(".beta"):
            name = name[: -len("beta")] + "bias"
        out[name] = tensor
    return out


def drop(state: dict[str, torch.Tensor], *patterns: str) -> dict[str, torch.Tensor]:
    """Remove keys matching any pattern (buffers a checkpoint stores but no model needs)."""
    compiled = [_compile(p) for p in patterns]
    return {k: v for k, v in state.items() if not any(r.match(k) for r in compiled)}
