"""``optimize`` / ``plain``: swap the class of a built model's modules, nothing else.

A module's class is changed in place (``module.__class__ = OneDNNLinear``): the module object, its
parameters, buffers, hooks, names and state dict stay exactly as they were, so checkpoints, the
optimizer and the doctor see the same model. Only exact ``nn.Linear`` / ``MultiHeadAttention`` /
``nn.Dropout`` instances are swapped (a user's subclass keeps its own forward). Both directions are idempotent.
"""

from __future__ import annotations

import contextlib

from torch import nn

from scratchformers.backends.dropout import FastDropout
from scratchformers.backends.fused_qkv import FusedQKVAttention
from scratchformers.backends.onednn import OneDNNLinear
from scratchformers.errors import ConfigError
from scratchformers.nn.attention import MultiHeadAttention

_PLAIN_TO_FAST = {nn.Linear: OneDNNLinear, MultiHeadAttention: FusedQKVAttention, nn.Dropout: FastDropout}
_FAST_TO_PLAIN = {fast: plain_class for plain_class, fast in _PLAIN_TO_FAST.items()}


def _check_module(model) -> None:
    if not isinstance(model, nn.Module):
        raise ConfigError(f"backends transform a torch.nn.Module, got {type(model).__name__}")


def _swap(model: nn.Module, mapping: dict) -> list[tuple[nn.Module, type]]:
    """Swap the class of every module whose exact class is a key; return (module, old class)."""
    swapped = []
    for module in model.modules():
        new_class = mapping.get(type(module))
        if new_class is not None:
            swapped.append((module, type(module)))
            module.__class__ = new_class
            module.__dict__.pop("_stacked_by_cache", None)  # FusedQKVAttention's per-cache weights
    return swapped


def _selected(onednn: bool, fused_qkv: bool, dropout: bool) -> dict:
    chosen = {}
    if onednn:
        chosen[nn.Linear] = OneDNNLinear
    if fused_qkv:
        chosen[MultiHeadAttention] = FusedQKVAttention
    if dropout:
        chosen[nn.Dropout] = FastDropout
    return chosen


def optimize(model: nn.Module, *, onednn: bool = True, fused_qkv: bool = True, dropout: bool = True) -> nn.Module:
    """Turn on the CPU speed-ups in place (see the package docstring); returns ``model``."""
    _check_module(model)
    _swap(model, _selected(onednn, fused_qkv, dropout))
    return model


def plain(model: nn.Module) -> nn.Module:
    """Undo :func:`optimize` in place: every backend module gets its plain class back."""
    _check_module(model)
    _swap(model, _FAST_TO_PLAIN)
    return model


def plain_class(module: nn.Module) -> type:
    """The class ``module`` has on the plain model (its own class unless a backend swapped it)."""
    return _FAST_TO_PLAIN.get(type(module), type(module))


def is_optimized(model: nn.Module) -> bool:
    """True when any module of ``model`` runs a backend class."""
    return any(type(m) in _FAST_TO_PLAIN for m in model.modules())


@contextlib.contextmanager
def optimized(model: nn.Module, *, onednn: bool = True, fused_qkv: bool = True, dropout: bool = True):
    """``optimize`` for the duration of the block; modules that were plain before become plain again
    (a model optimized by its owner stays optimized)."""
    _check_module(model)
    swapped = _swap(model, _selected(onednn, fused_qkv, dropout))
    try:
        yield model
    finally:
        for module, old_class in swapped:
            module.__class__ = old_class
