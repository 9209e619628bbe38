"""Black-box checks: perturb the input, watch the output.

- causal leak: change the tokens after position t; outputs at <= t must not move.
- position signal: permute the tokens; without positional information attention scores are merely
  permuted too (attention is permutation-equivariant).
- non-finite values: the first module whose output is NaN/Inf while its input was finite.
- determinism in eval mode: two forwards must agree (dropout off).
"""

from __future__ import annotations

import torch

from scratchformers.doctor import probe
from scratchformers.doctor.attention_checks import fully_masked_rows, mask_diagnosis
from scratchformers.doctor.findings import Finding
from scratchformers.doctor.trace import MASKED_BELOW, AttentionTrace

NO_SIGNAL = 1e-5  # relative change below this: the attention cannot tell positions apart
WEAK_SIGNAL = 1e-2  # below this: a position signal exists but is too small to matter


def _diff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b| with NaN == NaN (a NaN that appears or vanishes counts as infinite change)."""
    a, b = a.float(), b.float()
    both_nan = torch.isnan(a) & torch.isnan(b)
    d = (a - b).abs()
    d = torch.where(both_nan, torch.zeros_like(d), d)
    return torch.nan_to_num(d, nan=float("inf"))


def _perturb(ids: torch.Tensor, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """Different token ids at every position (never equal to the original)."""
    shift = torch.randint(1, max(vocab_size, 2), ids.shape, generator=generator).to(ids.device)
    return (ids + shift) % vocab_size


def _prefix(t: torch.Tensor, axis: int, end: int) -> torch.Tensor:
    return t.narrow(axis, 0, end)


# ----- causal leak -------------------------------------------------------------------------------
MAX_PROBE_TOKENS = 16  # perturbation tests look at the first positions only (a leak shows there)


def _probe_ids(input_ids, forward_kwargs):
    """The first example, cut to MAX_PROBE_TOKENS unless other per-token inputs would disagree."""
    return input_ids[:1] if forward_kwargs else input_ids[:1, :MAX_PROBE_TOKENS]


def check_causal_leak(model, input_ids, vocab_size, forward_kwargs, sites) -> Finding:
    ids = _probe_ids(input_ids, forward_kwargs)
    t = ids.shape[1]
    if t < 2:
        return Finding("causal_leak", "skip", "needs at least 2 tokens")
    gen = torch.Generator().manual_seed(0)
    noise = _perturb(ids, vocab_size, gen)
    with torch.no_grad():
        ref = probe.main_output(probe.run(model, ids, forward_kwargs))
        batch = ids.repeat(t - 1, 1)  # row r: tokens after position r replaced
        for r in range(t - 1):
            batch[r, r + 1 :] = noise[0, r + 1 :]
        outs = probe.main_output(probe.run(model, batch, probe.batch_kwargs(forward_kwargs, 1, t - 1)))
    axis = probe.seq_first_axis(outs, t - 1, t)
    leak_at, leak_size = None, 0.0
    if axis == 1 and ref.shape[1] == t:
        tol = 1e-5 * float(torch.nan_to_num(ref.float()).abs().max()) + 1e-6
        for r in range(t - 1):
            d = float(_diff(outs[r : r + 1, : r + 1], ref[:, : r + 1]).max())
            if d > tol:
                leak_at, leak_size = r, d
                break
    module = _leaking_module(model, ids, noise, leak_at, forward_kwargs) if leak_at is not None else None
    # the mask read off the scores explains the leak; "no mask" alone is not evidence (an encoder
    # inside an encoder-decoder, cross-attention), an inverted or shifted mask is
    diagnosed = [(s, d) for s, d in ((s, mask_diagnosis(s)) for s in sites) if d is not None]
    if leak_at is None:
        diagnosed = [(s, d) for s, d in diagnosed if d[0] in ("inverted", "leak")]
    elif module is not None:
        diagnosed = [(s, d) for s, d in diagnosed if s.module == module] or diagnosed
    diagnosis = diagnosed[0][1] if diagnosed else None
    if leak_at is None and diagnosis is None:
        return Finding("causal_leak", "ok",
                       f"changing the tokens after position t leaves outputs at <= t unchanged (t = 0..{t - 2})")
    if module is None and diagnosed:
        module = diagnosed[0][0].module
    parts = []
    if leak_at is not None:
        readers = _future_tokens_read(model, ids, noise, leak_at, forward_kwargs, ref)
        parts.append(f"output at position {leak_at} changes by {leak_size:.3g} when later tokens change"
                     + (f" (it reads token(s) at {readers})" if readers else ""))
    if diagnosis is not None:
        parts.append(diagnosis[1])
    fixes = {
        "inverted": "scores = scores.masked_fill(~mask, float('-inf'))  # mask: True = may attend "
                    "(torch.tril(torch.ones(T, T, dtype=torch.bool)))",
        "leak": "mask = torch.tril(torch.ones(T, T, dtype=torch.bool))  # or triu(ones, diagonal=1) for the BLOCKED set",
        "none": "scores = scores.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float('-inf'))",
    }
    kind = diagnosis[0] if diagnosis else "leak"
    return Finding(
        "causal_leak", "fail", "; ".join(parts),
        cause="a decoder must not see future tokens: training looks great (the model copies the next "
              "token) and generation produces garbage",
        fix=fixes.get(kind, fixes["leak"]), module=module,
    )


def _future_tokens_read(model, ids, noise, pos, forward_kwargs, ref) -> list[int]:
    """Which single future tokens change the output at ``pos``."""
    t = ids.shape[1]
    future = list(range(pos + 1, t))
    batch = ids.repeat(len(future), 1)
    for row, j in enumerate(future):
        batch[row, j] = noise[0, j]
    with torch.no_grad():
        outs = probe.main_output(probe.run(model, batch, probe.batch_kwargs(forward_kwargs, 1, len(future))))
    tol = 1e-5 * float(torch.nan_to_num(ref.float()).abs().max()) + 1e-6
    return [j for row, j in enumerate(future) if float(_diff(outs[row, pos], ref[0, pos]).max()) > tol]


def _leaking_module(model, ids, noise, pos, forward_kwargs) -> str | None:
    """The first module whose output at <= pos leaks while its input does not."""
    changed = ids.clone()
    changed[0, pos + 1 :] = noise[0, pos + 1 :]
    with torch.no_grad(), probe.capture_io(model) as rec_a:
        probe.run(model, ids, forward_kwargs)
    with torch.no_grad(), probe.capture_io(model) as rec_b:
        probe.run(model, changed, forward_kwargs)
    t = ids.shape[1]

    def leaks(x, y):
        if x is None or y is None or x.shape != y.shape or not x.is_floating_point():
            return False
        axis = probe.seq_first_axis(x, 1, t)
        if axis is None:
            return False
        a, b = _prefix(x, axis, pos + 1), _prefix(y, axis, pos + 1)
        return float(_diff(a, b).max()) > 1e-6 * (float(torch.nan_to_num(a.float()).abs().max()) + 1e-6)

    for (name, in_a, out_a), (_, in_b, out_b) in zip(rec_a, rec_b):
        if leaks(out_a, out_b) and not leaks(in_a, in_b):
            return name
    return None


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


def check_position_signal(model, input_ids, forward_kwargs, causal: bool | None = None) -> Finding:
    ids = _probe_ids(input_ids, forward_kwargs)
    t = ids.shape[1]
    if t < 3 or ids.unique().numel() < 3:
        return Finding("position_signal", "skip", "needs at least 3 distinct tokens")
    gen = torch.Generator().manual_seed(1)
    perm = torch.randperm(t, generator=gen)
    if torch.equal(perm, torch.arange(t)):
        perm = perm.flip(0)
    with torch.no_grad():
        with AttentionTrace(model) as tr, probe.capture_io(model) as rec:
            probe.run(model, ids, forward_kwargs)
        with AttentionTrace(model) as tr_p, probe.capture_io(model) as rec_p:
            probe.run(model, ids[:, perm.to(ids.device)], forward_kwargs)
    errors = []
    for site, site_p in zip(tr.sites, tr_p.sites):
        s, s_p = _site_logits(site), _site_logits(site_p)
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
def check_nan_inf(model, input_ids, forward_kwargs, out, records, sites) -> Finding:
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
def check_dropout(model, input_ids, forward_kwargs, was_training: bool) -> Finding:
    active = [name for name, m in model.named_modules()
              if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0]
    ids = input_ids[:1]
    if was_training:
        with torch.no_grad():
            a = probe.main_output(probe.run(model, ids, forward_kwargs))
            b = probe.main_output(probe.run(model, ids, forward_kwargs))
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
        a = probe.main_output(probe.run(model, ids, forward_kwargs))
        b = probe.main_output(probe.run(model, ids, forward_kwargs))
    d = float(_diff(a, b).max())
    tol = 1e-6 * float(torch.nan_to_num(a.float()).abs().max()) + 1e-7
    if d > tol:
        with torch.no_grad(), AttentionTrace(model) as tr:  # find who draws random numbers
            probe.run(model, ids, forward_kwargs)
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
