"""Stop generation on non-finite logits, and say where the NaN/inf came from.

Without a check, NaN logits decode as token 0 forever (argmax of NaNs) or garbage beams, and the
run "succeeds". The per-step check is one reduction: ``amax`` over the vocabulary is non-finite
exactly when a row holds a NaN or +inf, or is -inf everywhere (nothing left to pick). Only after a
failure, one diagnostic forward pass with hooks on every module finds the first module whose output
is non-finite, and the parameters that hold non-finite values.
"""

from __future__ import annotations

import torch

from scratchformers.backends import plain_class
from scratchformers.errors import ScratchformersError


class NonFiniteLogitsError(ScratchformersError, FloatingPointError):
    pass


def logits_are_finite(logits: torch.Tensor) -> bool:
    """logits (rows, vocab): every row has a finite maximum."""
    return bool(torch.isfinite(logits.amax(dim=-1)).all())


def _has_nonfinite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value).all())
    if isinstance(value, (tuple, list)):
        return any(_has_nonfinite(v) for v in value)
    return _has_nonfinite(getattr(value, "logits", None)) if hasattr(value, "logits") else False


def first_nonfinite_module(model: torch.nn.Module, run) -> str | None:
    """Call ``run()`` (one forward pass of ``model``) with hooks on every module; return the name
    and class of the first module to finish with a non-finite output, or None."""
    names = {module: name for name, module in model.named_modules()}
    found: list[str] = []

    def hook(module, args, output):
        if not found and _has_nonfinite(output):
            found.append(f"{names[module] or '(the model itself)'} ({plain_class(module).__name__})")

    handles = [module.register_forward_hook(hook) for module in names]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


def nonfinite_error(model, logits: torch.Tensor, step: int, rerun) -> NonFiniteLogitsError:
    """The error for non-finite ``logits`` at generation ``step`` (0 = the first new token);
    ``rerun()`` repeats that step as one plain forward pass over the whole sequence, uncached."""
    kind = "NaN" if bool(logits.isnan().any()) else "inf (or every logit -inf)"
    where = ""
    if isinstance(model, torch.nn.Module):
        bad_params = [name for name, p in model.named_parameters() if p.is_floating_point() and not bool(torch.isfinite(p).all())]
        module = first_nonfinite_module(model, rerun)
        if module is not None:
            where = f"; non-finite values first appear in the output of {module}"
        else:
            where = "; a full uncached forward pass over the same tokens gives finite values (look at the KV-cache path)"
        if bad_params:
            listed = ", ".join(bad_params[:3]) + (f" and {len(bad_params) - 3} more" if len(bad_params) > 3 else "")
            where += f"; parameters holding NaN/inf: {listed}"
    return NonFiniteLogitsError(
        f"generation step {step}: the model's logits contain {kind}{where}. The weights or the inputs are "
        "broken (check the checkpoint, e.g. with `scratchformers doctor`); no tokens were returned"
    )
