"""Causal leak: change the tokens after position t; nothing at positions <= t may move.

The outputs watched are the model's main output *and* every module output laid out as
(B, T, ...) or (T, B, ...) (forward hooks), so a model that returns only the last position's
logits (nanoGPT-style generation path) is still checked at every position. One batched forward
holds all the probes: row r has the tokens after position r replaced.
"""

from __future__ import annotations

import torch

from scratchformers.doctor import probe
from scratchformers.doctor.attention_checks import mask_diagnosis
from scratchformers.doctor.call import Call
from scratchformers.doctor.findings import Finding

MAX_PROBE_TOKENS = 16  # perturbation tests look at the first positions only (a leak shows there)


def diff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b| with NaN == NaN (a NaN that appears or vanishes counts as infinite change)."""
    a, b = a.float(), b.float()
    both_nan = torch.isnan(a) & torch.isnan(b)
    d = (a - b).abs()
    d = torch.where(both_nan, torch.zeros_like(d), d)
    return torch.nan_to_num(d, nan=float("inf"))


def perturb(ids: torch.Tensor, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """Different token ids at every position (never equal to the original), inside the vocabulary."""
    vocab_size = max(int(vocab_size), 2)
    shift = torch.randint(1, vocab_size, ids.shape, generator=generator).to(ids.device)
    return (ids + shift) % vocab_size


def probe_ids(call: Call, input_ids: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The first example cut to MAX_PROBE_TOKENS, with the user's kwargs cut to match."""
    t = min(input_ids.shape[1], MAX_PROBE_TOKENS)
    return input_ids[:1, :t], call.cut(t, call.rows(1))


def _tol(ref: torch.Tensor) -> float:
    return 1e-5 * float(torch.nan_to_num(ref.float()).abs().max()) + 1e-6


def _as_rows(t: torch.Tensor, rows: int, seq_len: int) -> torch.Tensor | None:
    """A tensor laid out (rows, T, ...) or (T, rows, ...), returned as (rows, T, ...)."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() < 2:
        return None
    axis = probe.seq_first_axis(t, rows, seq_len)
    if axis == 1:
        return t
    return t.transpose(0, 1) if axis == 0 else None


def _watched(call, ids, kwargs, rows):
    """Main output and every module output with a per-position layout, for ``ids`` (rows of them);
    and every module call's (input, output), under the same ``(module, k-th call)`` keys (two runs
    may take different code paths), in completion order."""
    with torch.no_grad(), probe.capture_io(call.model) as records:
        out = call.run_main(ids, kwargs)
    t = ids.shape[1]
    watched = {("<output>", 0): _as_rows(out, rows, t)}
    calls, count = {}, {}
    for name, i, o in records:
        k = count[name] = count.get(name, -1) + 1
        calls[(name, k)] = (i, o)
        watched[(name, k)] = _as_rows(o, rows, t) if o is not None and o.dim() == 3 else None
    return watched, calls


def _pairs(a: dict, b: dict):
    for key, x in a.items():
        y = b.get(key)
        if x is not None and y is not None:
            yield key[0], x, y


def first_leak(call, ids, noise, kwargs, ref: dict) -> tuple[int | None, float, str | None]:
    """(first leaking position, size, where it was seen) over every watched tensor (``ref``: the
    watched tensors of ``ids`` itself)."""
    t = ids.shape[1]
    batch = ids.repeat(t - 1, 1)  # row r: tokens after position r replaced
    for r in range(t - 1):
        batch[r, r + 1:] = noise[0, r + 1:]
    outs, _ = _watched(call, batch, call.rows(t - 1, kwargs), t - 1)
    allowed = torch.ones(t - 1, t, dtype=torch.bool).tril()  # row r: positions <= r must not move
    best = (None, 0.0, None)
    for name, a, b in _pairs(ref, outs):
        if b.shape[1:] != a.shape[1:]:
            continue
        d = diff(b, a.expand_as(b)).flatten(2).amax(-1) if b.dim() > 2 else diff(b, a.expand_as(b))
        d = d.to("cpu").masked_fill(~allowed, 0.0)
        leaking = (d > _tol(a)).any(dim=1).nonzero()
        if leaking.numel():
            r = int(leaking[0])
            if best[0] is None or r < best[0]:
                best = (r, float(d[r].max()), name)
    return best


def _leaking_module(call, ids, noise, pos, kwargs, calls_a: dict) -> str | None:
    """The first module (in completion order) whose output at <= pos leaks while its input does not
    (``calls_a``: the module calls of ``ids`` itself)."""
    changed = ids.clone()
    changed[0, pos + 1:] = noise[0, pos + 1:]
    _, calls_b = _watched(call, changed, kwargs, 1)
    t = ids.shape[1]

    def leaks(x, y):
        x, y = _as_rows(x, 1, t), _as_rows(y, 1, t)
        if x is None or y is None or x.shape != y.shape:
            return False
        return float(diff(x[:, :pos + 1], y[:, :pos + 1]).max()) > 1e-6 * (float(x.float().abs().max()) + 1e-6)

    for (name, k), (in_a, out_a) in calls_a.items():
        if (name, k) in calls_b:
            in_b, out_b = calls_b[(name, k)]
            if leaks(out_a, out_b) and not leaks(in_a, in_b):
                return name
    return None


def _future_tokens_read(call, ids, noise, pos, kwargs, ref: dict) -> list[int]:
    """Which single future tokens change the output (or hidden states) at ``pos`` (one batched forward)."""
    t = ids.shape[1]
    future = list(range(pos + 1, t))
    batch = ids.repeat(len(future), 1)
    for row, j in enumerate(future):
        batch[row, j] = noise[0, j]
    outs, _ = _watched(call, batch, call.rows(len(future), kwargs), len(future))
    read = set()
    for _, a, b in _pairs(ref, outs):
        if b.shape[1:] != a.shape[1:]:
            continue
        d = diff(b[:, pos], a[:, pos].expand_as(b[:, pos])).reshape(len(future), -1).amax(-1)
        read.update(j for row, j in enumerate(future) if float(d[row]) > _tol(a))
    return sorted(read)


FIXES = {
    "inverted": "scores = scores.masked_fill(~mask, float('-inf'))  # mask: True = may attend "
                "(torch.tril(torch.ones(T, T, dtype=torch.bool)))",
    "leak": "mask = torch.tril(torch.ones(T, T, dtype=torch.bool))  # or triu(ones, diagonal=1) for the BLOCKED set",
    "none": "scores = scores.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float('-inf'))",
}


def check_causal_leak(call: Call, input_ids, vocab_size, sites) -> Finding:
    ids, kwargs = probe_ids(call, input_ids)
    t = ids.shape[1]
    if t < 2:
        return Finding("causal_leak", "skip", "needs at least 2 tokens")
    noise = perturb(ids, vocab_size, torch.Generator().manual_seed(0))
    ref, ref_calls = _watched(call, ids, kwargs, 1)  # the reference forward, shared by the three probes
    leak_at, leak_size, seen_in = first_leak(call, ids, noise, kwargs, ref)
    module = _leaking_module(call, ids, noise, leak_at, kwargs, ref_calls) if leak_at is not None else None
    # the mask read off the scores explains the leak; "no mask" alone is not evidence (an encoder
    # inside an encoder-decoder, cross-attention), an inverted or shifted mask is
    diagnosed = [(s, d) for s, d in ((s, mask_diagnosis(s)) for s in sites) if d is not None]
    if leak_at is None:
        diagnosed = [(s, d) for s, d in diagnosed if d[0] in ("inverted", "leak")]
    elif module is not None:
        diagnosed = [(s, d) for s, d in diagnosed if s.module == module] or diagnosed
    diagnosis = diagnosed[0][1] if diagnosed else None
    if leak_at is None and diagnosis is None:
        return Finding("causal_leak", "ok", f"changing the tokens after position t leaves the outputs and hidden "
                       f"states at <= t unchanged (t = 0..{t - 2})")
    if module is None and diagnosed:
        module = diagnosed[0][0].module
    parts = []
    if leak_at is not None:
        readers = _future_tokens_read(call, ids, noise, leak_at, kwargs, ref)
        where = "" if seen_in == "<output>" else f" (seen in the output of {seen_in})"
        parts.append(f"output at position {leak_at} changes by {leak_size:.3g} when later tokens change{where}"
                     + (f" (it reads token(s) at {readers})" if readers else ""))
    if diagnosis is not None:
        parts.append(diagnosis[1])
    kind = diagnosis[0] if diagnosis else "leak"
    return Finding(
        "causal_leak", "fail", "; ".join(parts),
        cause="a decoder must not see future tokens: training looks great (the model copies the next "
              "token) and generation produces garbage",
        fix=FIXES.get(kind, FIXES["leak"]), module=module,
    )
