"""The NaN/Inf guard: find where a non-finite value was born and say which usual cause fits.

Checking every module's output on every step would be slow, so the trainer only watches the loss and
the gradient norm. When one of them is not finite, the step is skipped and :func:`diagnose` replays
the forward pass of the offending batch with forward hooks on every module: the first module (in
execution order) whose output holds a NaN/Inf is the culprit. If the forward pass is finite, the
problem was born in the backward pass, and the first parameter with a non-finite gradient is named.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from scratchformers.errors import ScratchformersError


class NonFiniteLossError(ScratchformersError, FloatingPointError):
    """The loss or the gradients became NaN/Inf; the message names the module and the likely causes."""


def _tensors(obj):
    if torch.is_tensor(obj):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            yield from _tensors(getattr(obj, name))


def _non_finite(obj) -> bool:
    return any(t.is_floating_point() and not torch.isfinite(t).all() for t in _tensors(obj))


def first_non_finite_module(model: nn.Module, run_forward: Callable[[], object]) -> str | None:
    """Run ``run_forward`` with hooks; the qualified name of the first module that outputs NaN/Inf."""
    found: list[str] = []
    handles = []

    def hook(name):
        def fn(module, inputs, output):
            if not found and _non_finite(output):
                found.append(name or type(module).__name__)

        return fn

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            run_forward()
    except Exception:  # a crash while replaying must not hide the original problem
        pass
    finally:
        for h in handles:
            h.remove()
    # Hooks fire when a module *finishes*: a parent finishes after its children, so the first hit is
    # the innermost module that produced the bad value.
    return found[0] if found else None


def first_non_finite_grad(model: nn.Module) -> str | None:
    for name, p in model.named_parameters():
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return name
    return None


def likely_causes(*, lr: float, warmup_steps: int, grad_clip: float, step: int, batch: dict, dtype: str,
                  culprit: str | None, model: nn.Module) -> list[str]:
    causes = []
    if any(not torch.isfinite(p).all() for p in model.parameters()):
        causes.append("the weights themselves are already non-finite (a bad checkpoint or an earlier bad step)")
    mask = batch.get("attention_mask") if isinstance(batch, dict) else None
    if mask is not None and mask.dim() == 2 and bool((mask.sum(-1) == 0).any()):
        causes.append(
            "a row of attention_mask is all zeros: a fully masked attention row is a softmax over only -inf, "
            "which is NaN (drop empty examples or keep at least one token)"
        )
    elif culprit is not None and any(k in culprit.lower() for k in ("attn", "attention")):
        causes.append("the culprit is an attention module: look for attention rows where every key is masked")
    if lr >= 1e-2:
        causes.append(f"the learning rate {lr:g} is high for AdamW on a transformer; try 3e-4 or lower")
    if warmup_steps == 0 and step < 1000:
        causes.append("there is no learning-rate warmup; set warmup_steps (or warmup_ratio 0.1)")
    if grad_clip <= 0:
        causes.append("gradient clipping is off; set grad_clip 1.0")
    if dtype == "fp16":
        causes.append("fp16 overflows past 65504; prefer bf16 or float32")
    if not causes:
        causes.append("inspect the inputs of the named module (log-of-zero, division by zero, sqrt of negatives)")
    return causes


def diagnose(model: nn.Module, micro_batches: list[dict], run_forward: Callable[[dict], object], *, lr: float,
             warmup_steps: int, grad_clip: float, step: int, dtype: str, where: str,
             last_checkpoint=None) -> NonFiniteLossError:
    """Build the error for a non-finite ``where`` ('loss' or 'gradient norm') at ``step``."""
    culprit, bad_batch = None, micro_batches[-1]
    for batch in micro_batches:
        culprit = first_non_finite_module(model, lambda b=batch: run_forward(b))
        if culprit is not None:
            bad_batch = batch
            break
    origin = f"module {culprit!r} is the first whose output is non-finite" if culprit else None
    if origin is None:
        grad = first_non_finite_grad(model)
        origin = (
            f"the forward pass is finite; the first non-finite gradient is on parameter {grad!r} (backward pass)"
            if grad else "no module output or gradient is non-finite when replayed (a transient overflow?)"
        )
        culprit = grad
    causes = likely_causes(lr=lr, warmup_steps=warmup_steps, grad_clip=grad_clip, step=step, batch=bad_batch,
                           dtype=dtype, culprit=culprit, model=model)
    kept = f"the last good checkpoint is kept: {last_checkpoint}" if last_checkpoint else "no checkpoint was written yet"
    message = (
        f"non-finite {where} at step {step}: {origin}. The step was skipped and training stopped; {kept}.\n"
        "Likely causes:\n" + "\n".join(f"  - {c}" for c in causes)
    )
    err = NonFiniteLossError(message)
    err.module = culprit
    err.causes = causes
    return err
