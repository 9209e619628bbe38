"""Gradient flow: one backward pass, per-layer gradient norms, parameters that get no gradient;
and the architecture facts the training checks need (Post-LN depth)."""

from __future__ import annotations

import re
from collections import OrderedDict

import torch
from torch import nn

from scratchformers.doctor import probe
from scratchformers.doctor.findings import Finding

_LAYER = re.compile(r"^(.*?\.\d+)\.")  # "encoder.layer.3.attention..." -> "encoder.layer.3"
VANISHING = 1e-7  # a layer's gradient norm below this fraction of the largest one


def layer_of(param_name: str) -> str:
    m = _LAYER.match(param_name)
    return m.group(1) if m else param_name.split(".")[0]


def gradient_norms(model: nn.Module, input_ids: torch.Tensor, forward_kwargs=None, call=None):
    """Backward of a random projection of every output; returns ({param: grad norm or None}, layer norms).

    The user's own ``.grad`` values are saved and put back afterwards.
    """
    saved = {p: p.grad for p in model.parameters()}
    for p in model.parameters():
        p.grad = None
    try:
        gen = torch.Generator().manual_seed(0)
        with torch.enable_grad():
            out = call(input_ids) if call is not None else probe.run(model, input_ids, forward_kwargs)
            loss = 0.0
            for _, t in probe.output_tensors(out):
                if t.requires_grad:
                    direction = torch.randn(t.shape, generator=gen).to(t.device, t.dtype)
                    loss = loss + (t * direction).mean()
            if not isinstance(loss, torch.Tensor):
                return None, None
            loss.backward()
        norms: dict[str, float | None] = {}
        seen = set()
        for name, p in model.named_parameters():
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            norms[name] = None if p.grad is None else float(p.grad.detach().float().norm())
    finally:
        for p, g in saved.items():
            p.grad = g
    layers: dict[str, float] = OrderedDict()
    for name, n in norms.items():
        if n is not None:
            key = layer_of(name)
            layers[key] = (layers.get(key, 0.0) ** 2 + n**2) ** 0.5
    return norms, layers


def check_gradient_flow(model: nn.Module, input_ids: torch.Tensor, forward_kwargs=None, call=None) -> Finding:
    """``call``: a :class:`scratchformers.doctor.call.Call` (how the doctor runs a user's model)."""
    frozen = sum(1 for p in model.parameters() if not p.requires_grad)
    norms, layers = gradient_norms(model, input_ids, forward_kwargs, call)
    if norms is None:
        return Finding("gradient_flow", "skip", "the outputs do not require grad (all parameters frozen?)")
    missing = [n for n, g in norms.items() if g is None]
    non_finite = [n for n, g in norms.items() if g is not None and not torch.isfinite(torch.tensor(g))]
    finite_layers = {k: v for k, v in layers.items() if torch.isfinite(torch.tensor(v))}
    top = max(finite_layers.values(), default=0.0)
    vanishing = [k for k, v in finite_layers.items() if v < VANISHING * top]
    frozen_note = f"; {frozen} frozen parameter tensor(s)" if frozen else ""
    if non_finite:
        return Finding("gradient_flow", "fail", f"non-finite gradients in {len(non_finite)} tensor(s), first {non_finite[0]}",
                       cause="exploding gradients or a NaN in the forward pass",
                       fix="torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); lower the learning rate",
                       module=non_finite[0].rsplit(".", 1)[0])
    if vanishing:
        k = vanishing[0]
        return Finding("gradient_flow", "fail",
                       f"layer {k} gets a gradient norm of {finite_layers[k]:.2e}, {finite_layers[k] / top:.1e} of the "
                       f"largest ({top:.2e})",
                       cause="vanishing gradients: a saturated softmax/activation, a missing residual, or a detach()",
                       fix="check for .detach()/.data/torch.no_grad in forward; keep residual connections x = x + f(x)",
                       module=k)
    if missing:
        return Finding("gradient_flow", "warn",
                       f"{len(missing)} trainable parameter tensor(s) get no gradient: {', '.join(missing[:4])}"
                       + (" ..." if len(missing) > 4 else "") + frozen_note,
                       cause="these parameters are not used in forward (disconnected) or the graph is cut (detach)",
                       fix="remove unused modules, or freeze them on purpose: p.requires_grad_(False)",
                       module=missing[0].rsplit(".", 1)[0])
    ratio = max(finite_layers.values()) / max(min(finite_layers.values()), 1e-30) if finite_layers else 0.0
    return Finding("gradient_flow", "ok",
                   f"{len(norms)} trainable tensors all get finite gradients; per-layer norm spread x{ratio:.3g} "
                   f"over {len(finite_layers)} groups" + frozen_note)


def count_post_ln_blocks(model: nn.Module, input_ids: torch.Tensor | None = None) -> tuple[int, int]:
    """(Post-LN blocks, blocks) of the model's repeated layer stack.

    Our configs and HF configs say it directly; for other modules we run one forward and call a
    block Post-LN when its output *is* the output of one of its norm layers.
    """
    config = getattr(model, "config", None)
    stack = max((m for m in model.modules() if isinstance(m, nn.ModuleList)), key=len, default=None)
    n_blocks = len(stack) if stack is not None else 0
    if config is not None:
        if getattr(config, "norm_first", None) is not None:
            return (0 if config.norm_first else n_blocks), n_blocks
        if type(config).__name__ == "BertConfig" or getattr(config, "model_type", None) in ("bert", "roberta", "electra"):
            return n_blocks, n_blocks
        if getattr(config, "model_type", None) in ("gpt2", "llama") or type(config).__name__ in ("GPTConfig", "LlamaConfig"):
            return 0, n_blocks
    if stack is None:
        return 0, n_blocks
    if input_ids is None:
        input_ids = probe.default_input_ids(model, batch=1, length=8)
    outputs: dict[int, torch.Tensor] = {}
    post_ln = 0
    hooks = []
    for i, block in enumerate(stack):
        norms = [m for m in block.modules() if "norm" in type(m).__name__.lower()]
        for norm in norms:
            hooks.append(norm.register_forward_hook(lambda m, a, o, i=i: outputs.setdefault(i, []).append(o)))
        hooks.append(block.register_forward_hook(lambda m, a, o, i=i: outputs.setdefault(f"out{i}", probe.first_tensor(o))))
    try:
        with torch.no_grad(), probe.eval_mode(model):
            probe.run(model, input_ids)
    except Exception:
        return 0, n_blocks
    finally:
        for h in hooks:
            h.remove()
    for i in range(n_blocks):
        out = outputs.get(f"out{i}")
        if out is not None and any(o is out for o in outputs.get(i, [])):
            post_ln += 1
    return post_ln, n_blocks
