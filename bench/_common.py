"""Shared helpers for the benchmark scripts: timing with medians, and the result table."""

from __future__ import annotations

import statistics
import time

import torch


def median_time(fn, *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_times(fns: dict, *, repeats: int = 5, warmup: int = 1) -> dict:
    """Median seconds per candidate, timing them in alternation so that load from other processes
    hits every candidate alike (a fairer side-by-side than timing one after the other)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def print_table(title: str, results: dict) -> None:
    """results: name -> {ours, peer, unit, ratio, target, higher_is_better} (ratio = ours speed / peer speed)."""
    print(f"\n{title}")
    print(f"{'case':<48} {'ours':>12} {'peer':>12} {'ratio':>7} {'target':>8}  ok")
    for name, r in results.items():
        ok = "yes" if r["ratio"] >= r["target"] else "NO"
        print(f"{name:<48} {r['ours']:>12.4g} {r['peer']:>12.4g} {r['ratio']:>7.2f} {r['target']:>8.2f}  {ok}   ({r['unit']})")


def entry(ours: float, peer: float, *, unit: str, target: float, lower_is_better: bool = True) -> dict:
    """One result row. For times (lower is better) ratio = peer / ours, so > 1 means we are faster."""
    ratio = peer / ours if lower_is_better else ours / peer
    return {"ours": ours, "peer": peer, "unit": unit, "ratio": ratio, "target": target}


def weight_bytes(model) -> int:
    """Bytes of the matrices a decode step streams from memory: every Linear weight and the LM head
    (tied to the embedding in GPT-2, counted once)."""
    seen, total = set(), 0
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(module, torch.nn.Linear) and weight is not None and weight.data_ptr() not in seen:
            seen.add(weight.data_ptr())
            total += weight.numel() * weight.element_size()
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and head.weight.data_ptr() not in seen:
        total += head.weight.numel() * head.weight.element_size()
    return total
