"""Black-box checks: perturb the input, watch the output.

- position signal: permute the tokens (and every per-token argument with them); without positional
  information attention scores are merely permuted too (attention is permutation-equivariant).
  (The causal leak lives in :mod:`scratchformers.doctor.causal`, padding in ``padding``.)
- non-finite values: the first module whose output is NaN/Inf while its input was finite.
- determinism in eval mode: two forwards must agree (dropout off).
"""

from __future__ import annotations

import torch

from scratchformers.analysis.graph import MASKED_BELOW
from scratchformers.analysis.trace import AttentionTrace
from scratchformers.doctor import probe
from scratchformers.doctor.attention_checks import fully_masked_rows, mask_diagnosis
from scratchformers.doctor.call import Call
from scratchformers.doctor.causal import diff as _diff
from scratchformers.doctor.causal import probe_ids
from scratchformers.doctor.findings import Finding

NO_SIGNAL = 1e-5  # relative change below this: the attention cannot tell positions apart
WEAK_SIGNAL = 1e-2  # below this: a position signal exists but is too small to matter


# ----- position signal ---------------------------------------------------------------------------
def _site_logits(site) -> torch.Tensor | None:
    """(Tq, Tk) scores exactly as the softmax sees them, for the first batch element and head."""
    if site.kind == "softmax" and site.scores is not None:
        s = site.scores.float().cpu()
    elif site.kind == "sdpa" and site.raw_scores is not None:
        s = site.raw_scores.float().cpu() * site.scale
        if site.attn_mask is not None:
            m = site.attn_mask.cpu()
            s = s.masked_fill(~m, float("-inf")) if m.dtype == torch.bool else s + m.float()
        if site.is_causal:
            s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
    else:
        return None
    while s.dim() > 2:
        s = s[0]
    return s


def _equivariance_error(s: torch.Tensor, s_perm: torch.Tensor, perm: torch.Tensor) -> float | None:
    """|| S(perm x) - P S(x) P^T || / || S(x) || over entries valid in both."""
    if s.shape != s_perm.shape or s.shape[0] != s.shape[1] or s.shape[0] != perm.numel():
        return None
    expected = s[perm][:, perm]
    valid = (expected > MASKED_BELOW) & (s_perm > MASKED_BELOW) & torch.isfinite(expected) & torch.isfinite(s_perm)
    if not valid.any():
        return None
    a, b = s_perm[valid], expected[valid]
    centred = b - b.mean()  # measure against the spread of the scores, not their offset
    return float((a - b).norm() / (centred.norm() + 1e-12))


def _input_error(rec, rec_perm, module, perm, t) -> float | None:
    for (name, inp, _), (_, inp_p, _) in zip(rec, rec_perm):
        if name != module or inp is None or inp_p is None:
            continue
        axis = probe.seq_first_axis(inp, 1, t)
        if axis is None or not inp.is_floating_point():
            return None
        inp, inp_p = inp.float().cpu(), inp_p.float().cpu()
        expected = inp.index_select(axis, perm)
        centred = expected - expected.mean(dim=axis, keepdim=True)
        return float((inp_p - expected).norm() / (centred.norm() + 1e-12))
    return None


def check_position_signal(call: Call, input_ids, causal: bool | None = None) -> Finding:
    ids, kwargs = probe_ids(call, input_ids)
    model = call.model
    t = ids.shape[1]
    if t < 3 or ids.unique().numel() < 3:
        return Finding("position_signal", "skip", "needs at least 3 distinct tokens")
    gen = torch.Generator().manual_seed(1)
    perm = torch.randperm(t, generator=gen)
    if torch.equal(perm, torch.arange(t)):
        perm = perm.flip(0)
    with torch.no_grad():
        with AttentionTrace(model) as tr, probe.capture_io(model) as rec:
            call(ids, kwargs)
        with AttentionTrace(model) as tr_p, probe.capture_io(model) as rec_p:
            call(ids[:, perm.to(ids.device)], call.permuted(perm, kwargs))
    errors = []
    for site, site_p in zip(tr.sites, tr_p.sites):
        s, s_p = _site_logits(site), _site_logits(site_p)
        if s is not None and s_p is not None and s.shape == s_p.shape and torch.equal(s, s_p):
            continue  # this attention does not read the permuted input (an encoder over another input)
        err = _equivariance_error(s, s_p, perm) if s is not None and s_p is not None else None
        if err is not None:
            errors.append((site, err))
    if not errors:
        return Finding("position_signal", "skip", "no self-attention scores found to compare")
    first_site, first_err = errors[0]
    if first_err >= WEAK_SIGNAL:
        return Finding("position_signal", "ok",
                       f"permuting the input changes the first attention's scores by {first_err:.3g} (relative) "
                       f"beyond a mere permutation: positions are visible to attention")
    later = [e for _, e in errors[1:]]
    input_err = _input_error(rec, rec_p, first_site.module, perm, t)
    evidence = (f"permuting the tokens only permutes the scores of the first attention ({first_site.module}): "
                f"relative difference {first_err:.2e}")
    if input_err is not None:
        evidence += f"; the position part of its input is {input_err:.2e} of the input"
    position_after = tr.first_position_use is not None and tr.first_position_use > first_site.index
    # in an encoder, later layers that see positions prove a positional signal enters after the first
    # attention; in a decoder the causal mask itself leaks order into later layers, so it proves nothing
    later_signal = not causal and any(e >= WEAK_SIGNAL for e in later)
    if position_after or (first_err < NO_SIGNAL and later_signal):
        return Finding("position_signal", "fail", evidence + "; the positional encoding is used only after it",
                       cause="the positional encoding is added after attention, so attention itself is blind to "
                             "word order (it is permutation-equivariant)",
                       fix="x = tok_emb(ids) + pos_emb(torch.arange(T))  # before the first block",
                       module=first_site.module)
    if first_err < NO_SIGNAL and tr.first_position_use is None:
        return Finding("position_signal", "fail", evidence + "; no positional table is used anywhere",
                       cause="no positional encoding: the model sees a bag of words ('dog bites man' == "
                             "'man bites dog')",
                       fix="self.pos_emb = nn.Embedding(max_len, d_model); x = tok_emb(ids) + pos_emb(torch.arange(T))",
                       module=first_site.module)
    return Finding("position_signal", "fail", evidence + " (a signal exists but is too small to matter)",
                   cause="the positional encoding is scaled far below the token embeddings",
                   fix="add the positional encoding at a magnitude comparable to the embeddings "
                       "(e.g. x = tok_emb(ids) * math.sqrt(d_model) + pe[:T], no extra small factor)",
                   module=first_site.module)


# ----- non-finite values -------------------------------------------------------------------------
def check_nan_inf(out, records, sites) -> Finding:
    bad = [(name, t) for name, t in probe.output_tensors(out) if not bool(torch.isfinite(t).all())]
    masked = fully_masked_rows(sites)
    if not bad:
        if masked is not None:
            site, rows, total = masked
            return Finding("nan_inf", "warn",
                           f"{rows}/{total} query rows have every key masked in {site.module}; outputs are "
                           "finite here but such rows give NaN (softmax of all -inf)",
                           fix="let fully masked rows attend something (or zero their output) before the softmax",
                           module=site.module)
        return Finding("nan_inf", "ok", "all outputs are finite")
    culprit = None
    for name, inp, o in records:
        if o is None or not o.is_floating_point() or bool(torch.isfinite(o).all()):
            continue
        if inp is None or not inp.is_floating_point() or bool(torch.isfinite(inp).all()):
            culprit = (name, o)
            break
    name, t = bad[0]
    count = int((~torch.isfinite(t)).sum())
    message = f"{name} has {count}/{t.numel()} non-finite values"
    if culprit is not None:
        message += f"; the first module producing them from finite input is {culprit[0]}"
    cause, fix = "a layer produces NaN/Inf (log of <= 0, division by zero, overflow in float16)", \
        "run with torch.autograd.set_detect_anomaly(True); clamp or add an eps (x / (norm + 1e-6)); use bfloat16"
    if masked is not None:
        site, rows, total = masked
        message += f"; {rows}/{total} attention rows in {site.module} have every key masked"
        cause = "softmax over a row where every key is -inf gives NaN"
        fix = "check the mask polarity (True = may attend) and that no query is left with zero visible keys"
        if any(mask_diagnosis(s) and mask_diagnosis(s)[0] == "inverted" for s in sites):
            return Finding("nan_inf", "warn", message + " (a consequence of the inverted mask: see causal_leak)",
                           cause=cause, fix=fix, module=site.module)
    module = culprit[0] if culprit is not None else (masked[0].module if masked is not None else None)
    return Finding("nan_inf", "fail", message, cause=cause, fix=fix, module=module)


# ----- dropout at inference ----------------------------------------------------------------------
def check_dropout(call: Call, input_ids, was_training: bool) -> Finding:
    model, forward_kwargs = call.model, call.rows(1)
    active = [name for name, m in model.named_modules()
              if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0]
    ids = input_ids[:1]
    if was_training:
        with torch.no_grad():
            a = call.run_main(ids, forward_kwargs)
            b = call.run_main(ids, forward_kwargs)
        d = float(_diff(a, b).max())
        if active or d > 1e-6 * float(torch.nan_to_num(a.float()).abs().max()) + 1e-7:
            return Finding("dropout", "fail",
                           f"model.training is True and two identical forwards differ by {d:.3g}"
                           + (f"; active dropout: {', '.join(active[:4])}" + (" ..." if len(active) > 4 else "")
                              if active else ""),
                           cause="dropout is on at inference: predictions are noisy and a bit worse",
                           fix="model.eval()  # and model.train() again before training; use torch.no_grad()",
                           module=active[0] if active else None)
        return Finding("dropout", "warn", "model.training is True (no active dropout found, outputs deterministic)",
                       fix="model.eval() before evaluation")
    with torch.no_grad():
        a = call.run_main(ids, forward_kwargs)
        b = call.run_main(ids, forward_kwargs)
    d = float(_diff(a, b).max())
    tol = 1e-6 * float(torch.nan_to_num(a.float()).abs().max()) + 1e-7
    if d > tol:
        with torch.no_grad(), AttentionTrace(model) as tr:  # find who draws random numbers
            call(ids, forward_kwargs)
        culprit = next((n for n in tr.nodes if n.name in ("dropout", "dropout_") and _functional_training(n)), None)
        return Finding("dropout", "fail",
                       f"in eval mode two identical forwards differ by {d:.3g}",
                       cause="dropout that ignores model.eval(): F.dropout(x, p) defaults to training=True",
                       fix="F.dropout(x, p, training=self.training)  # or use an nn.Dropout module",
                       module=culprit.module if culprit is not None else None)
    return Finding("dropout", "ok", "eval mode: two identical forwards agree exactly (dropout off)")


def _functional_training(node) -> bool:
    training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
    p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
    return bool(training) and float(p) > 0
