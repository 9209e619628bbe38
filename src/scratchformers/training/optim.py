"""AdamW with weight decay on matrices only, and learning-rate schedules with warmup.

Decay pulls weights toward zero; that regularizes the matrices of linear layers and embeddings, but
on biases and LayerNorm gains it only hurts, so (as in nanoGPT and the BERT recipe) every parameter
with fewer than two dimensions goes in a no-decay group. The schedules are the formulas of
``transformers.get_linear_schedule_with_warmup`` / ``get_cosine_schedule_with_warmup``, as
multipliers of the peak learning rate in a :class:`torch.optim.lr_scheduler.LambdaLR`.
"""

from __future__ import annotations

import inspect
import math
from functools import partial

import torch
from torch import nn

from scratchformers.errors import ConfigError


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups of the trainable parameters: matrices (decayed) and vectors/scalars (not decayed)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters (everything is frozen)")
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _fused_devices() -> set[str]:
    try:  # private, but the list PyTorch itself checks fused=True against
        from torch.optim.optimizer import _get_fused_kernels_supported_devices

        return set(_get_fused_kernels_supported_devices())
    except ImportError:  # older PyTorch: fused AdamW existed on CUDA only
        return {"cuda"}


def fused_supported(model: nn.Module) -> bool:
    """Fused AdamW (one kernel per parameter group instead of a dozen foreach passes) where PyTorch
    has it: CUDA, and the CPU since PyTorch 2.4 (3-6x faster optimizer steps there; measured in
    docs/results.md). Floating-point parameters on one supported device type only."""
    if "fused" not in inspect.signature(torch.optim.AdamW).parameters:
        return False
    params = [p for p in model.parameters() if p.requires_grad]
    devices = {p.device.type for p in params}
    return (
        len(devices) == 1
        and devices <= _fused_devices()
        and all(p.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64) for p in params)
    )


def layerwise_parameter_groups(
    layers: list[list[nn.Parameter]], lr: float, weight_decay: float, decay: float
) -> list[dict]:
    """Layer-wise learning-rate decay (LLRD): ``layers`` from the top (head first) to the bottom
    (embeddings last); layer ``i`` gets ``lr * decay**i``, split into decayed matrices and
    undecayed vectors. Lower layers hold general features that fine-tuning should move less."""
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"layer-wise lr decay must be in (0, 1], got {decay}")
    groups = []
    for depth, params in enumerate(layers):
        params = [p for p in params if p.requires_grad]
        for wd, keep in ((weight_decay, lambda p: p.dim() >= 2), (0.0, lambda p: p.dim() < 2)):
            chosen = [p for p in params if keep(p)]
            if chosen:
                groups.append({"params": chosen, "weight_decay": wd, "lr": lr * decay**depth})
    if not groups:
        raise ConfigError("the model has no trainable parameters (everything is frozen)")
    return groups


def build_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fused: bool | None = None,
    groups: list[dict] | None = None,
) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups` (or the given ``groups``); ``fused=None`` picks the
    fused kernel when the device supports it."""
    if lr <= 0:
        raise ConfigError(f"learning rate must be positive, got {lr}")
    use_fused = fused_supported(model) if fused is None else fused
    extra = {"fused": True} if use_fused else {}
    groups = parameter_groups(model, weight_decay) if groups is None else groups
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, **extra)


def _warmup(step: int, warmup_steps: int) -> float:
    return step / max(1, warmup_steps)


def linear_with_warmup(step: int, *, warmup_steps: int, total_steps: int) -> float:
    if step < warmup_steps:
        return _warmup(step, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def cosine_with_warmup(step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Half a cosine from 1 to ``min_lr_ratio`` (0 = the transformers schedule; 0.1 = nanoGPT's)."""
    if step < warmup_steps:
        return _warmup(step, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    cosine = max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))
    return min_lr_ratio + (1.0 - min_lr_ratio) * cosine


def constant_with_warmup(step: int, *, warmup_steps: int, total_steps: int) -> float:
    return _warmup(step, warmup_steps) if step < warmup_steps else 1.0


SCHEDULES = {"linear": linear_with_warmup, "cosine": cosine_with_warmup, "constant": constant_with_warmup}


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str,
    *,
    warmup_steps: int,
    total_steps: int,
    min_lr_ratio: float = 0.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """``linear`` | ``cosine`` | ``constant``, each with linear warmup from 0 over ``warmup_steps``."""
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    if warmup_steps < 0 or total_steps <= 0:
        raise ConfigError(f"need warmup_steps >= 0 and total_steps > 0, got {warmup_steps} and {total_steps}")
    kwargs = {"warmup_steps": warmup_steps, "total_steps": total_steps}
    if name == "cosine":
        kwargs["min_lr_ratio"] = min_lr_ratio
    return torch.optim.lr_scheduler.LambdaLR(optimizer, partial(SCHEDULES[name], **kwargs))
