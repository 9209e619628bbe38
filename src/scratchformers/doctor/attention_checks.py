"""Checks read off the traced attention sites: softmax axis, 1/sqrt(d_k) scaling, mask pattern,
score shape (the transposed-K mistake) and fully masked rows."""

from __future__ import annotations

import math
import re

import torch

from scratchformers.analysis.graph import MASKED_BELOW, MATMULS, matmul_operands, walk_to_softmax
from scratchformers.analysis.trace import AttentionSite, AttentionTrace
from scratchformers.doctor.findings import Finding


def _no_sites(check_id: str) -> Finding:
    return Finding(check_id, "skip", "no attention found in the forward pass (no softmax over a score tensor, "
                   "no F.scaled_dot_product_attention call)")


def check_softmax_axis(sites: list[AttentionSite]) -> Finding:
    explicit = [s for s in sites if s.kind == "softmax" and (s.contracted_dim is not None or s.d_k is not None)]
    if not explicit:
        fused = [s for s in sites if s.kind in ("sdpa", "mha")]
        if fused:
            return Finding("attention.softmax_axis", "ok",
                           f"{len(fused)} attention call(s) use the fused kernel, which normalises over keys by construction")
        return _no_sites("attention.softmax_axis")
    for site in explicit:
        key_axis = site.contracted_dim if site.contracted_dim is not None else -1
        if site.dim != key_axis:
            w = site.weights.float()
            key_sum_err = float((w.sum(dim=key_axis) - 1).abs().max())
            norm_sum_err = float((w.sum(dim=site.dim) - 1).abs().max())
            return Finding(
                "attention.softmax_axis", "fail",
                f"softmax(dim={site.dim}) on scores {tuple(site.scores.shape)}, but the weights are then "
                f"multiplied with V over dim {key_axis} (the key axis): rows over keys sum to 1 +- "
                f"{key_sum_err:.3g} instead of 1 (sums over dim {site.dim}: 1 +- {norm_sum_err:.1e})",
                cause="the softmax normalises over the query axis, so each key's column sums to 1 and a query "
                      "can give all keys near-zero or huge total weight",
                fix="weights = scores.softmax(dim=-1)  # normalise over keys (the last axis of Q @ K^T)",
                module=site.module,
            )
    worst = max(float((s.weights.float().sum(dim=s.dim) - 1).abs().max()) for s in explicit)
    return Finding("attention.softmax_axis", "ok",
                   f"{len(explicit)} attention softmax(es) normalise over the key axis (row sums 1 +- {worst:.1e})")


def check_scaling(sites: list[AttentionSite]) -> Finding:
    measured = [s for s in sites if s.d_k and s.scale is not None]
    if not measured:
        return _no_sites("attention.scaling") if not sites else Finding(
            "attention.scaling", "skip", "could not follow the scores back to the Q K^T product")
    for site in measured:
        expected = 1.0 / math.sqrt(site.d_k)
        ratio = site.scale / expected
        if abs(ratio - 1) <= 0.05:
            continue
        evidence = ""
        if site.raw_scores is not None and site.raw_scores.numel() > 1:
            raw_std = float(site.raw_scores.float().std())
            evidence = (f"; score std {raw_std * site.scale:.3g} as used vs {raw_std * expected:.3g} with "
                        f"1/sqrt({site.d_k}) (variance x{ratio ** 2:.3g})")
        # variance off by 1.8x or more (no scale, 1/d_k, 1/sqrt(d_model) with >= 2 heads, sqrt(d_k)) fails
        status = "fail" if abs(site.scale - 1.0) < 1e-9 or not 0.75 <= ratio <= 1.34 else "warn"
        return Finding(
            "attention.scaling", status,
            f"scores Q K^T over d_k={site.d_k} reach the softmax multiplied by {site.scale:.4g}, expected "
            f"1/sqrt({site.d_k}) = {expected:.4g}{evidence}" + (f" (softmax at {site.where})" if site.where else ""),
            cause=("no 1/sqrt(d_k) scaling: score variance grows with d_k, the softmax saturates to one-hot "
                   "and its gradients vanish" if abs(site.scale - 1.0) < 1e-9 else
                   "the wrong scale (1/d_k, 1/sqrt(d_model) or sqrt(d_k) instead of 1/sqrt(d_head)): the softmax is "
                   "too flat or too sharp" if status == "fail" else
                   "an unusual score scale (intended for T5-style models that fold it into the init?)"),
            fix="scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))",
            module=site.module,
        )
    return Finding("attention.scaling", "ok",
                   f"{len(measured)} attention site(s) scale Q K^T by 1/sqrt(d_k) (d_k={measured[0].d_k})")


def mask_diagnosis(site: AttentionSite) -> tuple[str, str] | None:
    """Compare a site's blocked entries with the causal pattern: (kind, text) or None if it is fine.

    kind is one of "none" (no causal mask), "inverted" (polarity flipped), "leak" (k future tokens
    visible), "other".
    """
    masked = site.masked()
    if masked is None or masked.dim() < 2:
        return None
    while masked.dim() > 2:
        masked = masked[0]  # the first batch element / head
    t_q, t_k = masked.shape
    offset = t_k - t_q  # bottom-right alignment (a KV cache)
    q_pos = torch.arange(t_q)[:, None] + offset
    k_pos = torch.arange(t_k)[None, :]
    expected = k_pos > q_pos
    masked = masked.cpu()
    if torch.equal(masked, expected):
        return None
    if not masked.any():
        return "none", "no causal mask: every query attends to every key"
    if torch.equal(masked, ~expected) or torch.equal(masked, k_pos <= q_pos):
        return "inverted", ("the mask polarity is inverted: each query is blocked from itself and the past "
                            "and attends only to the future")
    if not (masked & ~expected).any():  # blocks a subset of the future: some future tokens leak
        visible_future = (~masked & expected).float() * (k_pos - q_pos)
        k = int(visible_future.max())
        return "leak", (f"the mask lets each query see {k} future token(s) (blocked from j > i + {k} instead of "
                        f"j > i: e.g. torch.triu(..., diagonal={k + 1}) where diagonal=1 is meant)")
    return "other", "the blocked entries do not match the causal pattern"


_QUERY_WORDS = {"q", "query", "queries", "wq", "qproj", "qlinear"}
_KEY_WORDS = {"k", "key", "keys", "wk", "kproj", "klinear"}


def _named(name: str, words: set[str]) -> bool:
    """Does a projection's name say query (or key) by ``words``? The last name segment, split at
    '_' / '-' (q_proj, W_Q, to_k, key, linear_q, wq ...)."""
    return bool(set(re.split(r"[_\-]", name.split(".")[-1].lower())) & words)


def _orientation(site) -> tuple[bool, str] | None:
    """(reversed?, evidence) from what produced the two score operands, or None when nothing tells.

    In order: the projections' names (query/key, q_proj/k_proj ...); the source they read (keys and
    values come from the same sequence: in cross-attention the operand sharing V's source is K);
    the chunk of a fused projection (q, k, v = qkv.split(...): q is chunk 0); the order the two
    projections were called in (q is computed before k).
    """
    (left, right), value = site.operand_sources, site.value_source
    if left is None or right is None:
        return None
    (l_node, l_chunk), (r_node, r_chunk) = left, right
    l_name, r_name = l_node.module, r_node.module
    if l_name != r_name:
        if _named(l_name, _KEY_WORDS) and _named(r_name, _QUERY_WORDS):
            return True, f"({l_name}) @ ({r_name})^T, by the projections' names"
        if _named(l_name, _QUERY_WORDS) and _named(r_name, _KEY_WORDS):
            return False, f"{l_name} @ {r_name}^T"
    if value is not None:
        v_src = value[0].tensors[0] if value[0].tensors else None
        l_src, r_src = l_node.tensors[0], r_node.tensors[0]
        if v_src is not None and (l_src is v_src) != (r_src is v_src):
            if l_src is v_src:
                return True, (f"the left operand is projected ({l_name}) from the sequence the values come from, "
                              f"the right one ({r_name}) from the other sequence: it is K")
            return False, "queries from one sequence, keys/values from the other"
    if l_node is r_node and l_chunk is not None and r_chunk is not None and l_chunk != r_chunk:
        reversed_ = l_chunk > r_chunk
        return reversed_, (f"the left operand is chunk {l_chunk} and the right one chunk {r_chunk} of the fused "
                           f"projection {l_name} (q, k, v = ...split(...): q is chunk 0, k chunk 1)")
    if l_node is not r_node and l_node.index != r_node.index:
        reversed_ = l_node.index > r_node.index
        if value is not None and value[0].index < min(l_node.index, r_node.index):
            return None  # V computed first: the call order is not the q, k, v convention
        return reversed_, (f"the left operand comes from {l_name} (called {'after' if reversed_ else 'before'} "
                           f"{r_name}), in q, k, v order the right one is the query")
    return None


def check_score_orientation(sites: list[AttentionSite]) -> Finding:
    """Scores must be Q K^T (queries on the rows); see :func:`_orientation` for the evidence used."""
    decided = 0
    for site in sites:
        if site.kind not in ("softmax", "sdpa"):
            continue
        found = _orientation(site)
        if found is None:
            continue
        decided += 1
        reversed_, evidence = found
        if reversed_:
            return Finding(
                "attention.score_shape", "fail",
                f"the scores are computed as K @ Q^T: {evidence}; keys on the rows, queries on the columns. With "
                f"Tq == Tk this runs silently, with Tq != Tk (cross-attention, KV cache) it crashes"
                + (f" (at {site.where})" if site.where else ""),
                cause="K @ Q^T instead of Q @ K^T (K.transpose(-1, -2) applied to the wrong operand)",
                fix="scores = q @ k.transpose(-2, -1)  # (..., Tq, d) @ (..., d, Tk) -> (..., Tq, Tk)",
                module=site.module,
            )
    if decided:
        return Finding("attention.score_shape", "ok", f"{decided} score product(s) are query @ key^T")
    if sites:
        return Finding("attention.score_shape", "ok", "the forward ran and the scores line up with the values")
    return _no_sites("attention.score_shape")


def check_mask_fill(sites: list[AttentionSite]) -> Finding:
    """Masked scores must be filled with -inf (or a very negative number) before the softmax, and the
    weights that multiply V must still be a distribution over keys (rows summing to 1)."""
    for site in sites:
        for value, where in site.fills:
            if value is None or value <= MASKED_BELOW:
                continue
            filled = (site.scores == value) if site.scores is not None else None
            share = float((site.weights * filled).sum(site.dim).mean()) if filled is not None and filled.any() else None
            return Finding(
                "attention.mask_value", "fail",
                f"the scores are masked with the value {value:g} at {where}: exp({value:g}) is an ordinary weight, "
                + (f"the masked keys still get {share:.1%} of each row's attention" if share is not None else
                   "the masked keys are not blocked"),
                cause="masked_fill(mask, 0) (or another finite value) instead of -inf: blocked keys (future or "
                      "padding) stay visible",
                fix="scores = scores.masked_fill(blocked, float('-inf'))  # before the softmax",
                module=site.module,
            )
    for site in sites:
        if site.applied_row_sums is None:
            continue
        low, high = site.applied_row_sums
        if abs(low - 1) > 1e-3 or abs(high - 1) > 1e-3:
            return Finding(
                "attention.mask_after_softmax", "fail",
                f"the weights multiplied with V at {site.post_mask_where} have row sums in [{low:.3g}, {high:.3g}] "
                "instead of 1: a mask was applied after the softmax, which had already normalised over the "
                "blocked keys",
                cause="mask applied after softmax: the blocked keys still shape every row's normalisation (a future "
                      "or padding token changes all the weights) and the rows no longer sum to 1",
                fix="scores = scores.masked_fill(blocked, float('-inf')); weights = scores.softmax(dim=-1)",
                module=site.module,
            )
    if not sites:
        return _no_sites("attention.mask_value")
    return Finding("attention.mask_value", "ok", "masked scores are -inf (or very negative) before the softmax and "
                   "the weights that multiply V sum to 1")


def check_score_shape_error(trace: AttentionTrace, error: Exception) -> Finding | None:
    """Explain a forward that crashed in weights @ V because the scores were built transposed."""
    node = trace.error
    if node is None or node.name not in MATMULS or len(node.tensors) < 2:
        return None
    left, right = matmul_operands(node)
    found = walk_to_softmax(node.tensor_parent(left))
    if found is None:
        return None
    site = found[0].site
    weights, values = node.tensors[left], node.tensors[right]
    rows, cols = weights.shape[-2], weights.shape[-1]
    t_k = values.shape[-2]
    if rows == t_k and cols != t_k:
        message = (f"weights {tuple(weights.shape)} @ V {tuple(values.shape)} fails: the scores are "
                   f"(..., {rows}, {cols}) = (Tk, Tq) instead of (Tq, Tk); they only line up when Tq == Tk, "
                   f"which is why self-attention ran")
        cause = "the scores were computed as K @ Q^T (or K.transpose(-1, -2) applied to the wrong operand)"
    else:
        message = f"weights {tuple(weights.shape)} @ V {tuple(values.shape)} fails: {error}"
        cause = "the attention weights' key axis does not match the number of values"
    return Finding("attention.score_shape", "fail", message, cause=cause,
                   fix="scores = q @ k.transpose(-2, -1)  # (..., Tq, d) @ (..., d, Tk) -> (..., Tq, Tk)",
                   module=site.module if site is not None else node.module)


def fully_masked_rows(sites: list[AttentionSite]) -> tuple[AttentionSite, int, int] | None:
    """The first softmax site with query rows whose every key is masked: (site, rows, total rows)."""
    for site in sites:
        if site.kind != "softmax" or site.scores is None:
            continue
        key_axis = site.dim
        all_masked = (site.scores <= MASKED_BELOW).all(dim=key_axis)
        if bool(all_masked.any()):
            return site, int(all_masked.sum()), all_masked.numel()
    return None
