"""Attention forward+backward: our MultiHeadAttention vs torch.nn.MultiheadAttention and vs bare
F.scaled_dot_product_attention with four projections; our weights-returning math path vs the
naive formula. (batch 8, heads 8, seq 512, head_dim 64), float32.

    python bench/attention.py [--quick]

Targets (issue 2): ours within 1.15x of bare SDPA + projections (ratio >= 0.87), no slower than
nn.MultiheadAttention(need_weights=False) (ratio >= 1.0), math path within 1.2x of the naive
formula (ratio >= 0.83). Ratio = peer time / our time: above 1 means we are faster.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _common import entry, interleaved_times, print_table  # noqa: E402

import scratchformers as sf  # noqa: E402
from scratchformers.backends import optimize  # noqa: E402


class BareSDPA(nn.Module):
    """The floor: four projections around torch's fused attention, nothing else."""

    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.h, d // self.h).transpose(1, 2)
        out = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), is_causal=True)
        return self.o(out.transpose(1, 2).reshape(b, t, d))


def naive_attention(q, k, v, mask):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights @ v, weights


def fwd_bwd(fn, x):
    def run():
        x.grad = None
        out = fn(x)
        out.sum().backward()

    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats (smoke test)")
    args = parser.parse_args(argv)
    batch, heads, seq, head_dim = (2, 4, 128, 32) if args.quick else (8, 8, 512, 64)
    repeats = 3 if args.quick else 7
    d = heads * head_dim
    torch.manual_seed(0)
    x = torch.randn(batch, seq, d, requires_grad=True)
    ours = sf.MultiHeadAttention(d, heads)  # the plain module: three projections, as the formula reads
    fast = optimize(copy.deepcopy(ours))  # what the Trainer runs by default: fused Q/K/V, measured GEMMs
    torch_mha = nn.MultiheadAttention(d, heads, batch_first=True)
    bare = BareSDPA(d, heads)
    causal = torch.ones(seq, seq).triu(1).bool()  # torch polarity: True = blocked

    q = torch.randn(batch, heads, seq, head_dim, requires_grad=True)
    k, v = torch.randn_like(q), torch.randn_like(q)
    allowed = sf.causal_mask(seq)
    t = interleaved_times(
        {
            "ours": fwd_bwd(lambda x: ours(x, is_causal=True)[0], x),
            "fast": fwd_bwd(lambda x: fast(x, is_causal=True)[0], x),
            "bare": fwd_bwd(bare, x),
            "torch": fwd_bwd(lambda x: torch_mha(x, x, x, attn_mask=causal, need_weights=False, is_causal=True)[0], x),
            "math": fwd_bwd(lambda q: sf.scaled_dot_product_attention(q, k, v, is_causal=True, return_weights=True)[0], q),
            "naive": fwd_bwd(lambda q: naive_attention(q, k, v, allowed)[0], q),
        },
        repeats=repeats,
    )
    t_ours, t_fast, t_bare, t_torch, t_math, t_naive = (t[n] for n in ("ours", "fast", "bare", "torch", "math", "naive"))

    shape = f"B{batch} H{heads} T{seq} hd{head_dim}"
    results = {
        f"MHA vs bare SDPA+proj ({shape})": entry(t_ours, t_bare, unit="s fwd+bwd", target=1 / 1.15),
        f"MHA vs nn.MultiheadAttention ({shape})": entry(t_ours, t_torch, unit="s fwd+bwd", target=1.0),
        f"MHA + backends.optimize vs bare SDPA+proj ({shape})": entry(t_fast, t_bare, unit="s fwd+bwd", target=1 / 1.15),
        f"math path (weights) vs naive formula ({shape})": entry(t_math, t_naive, unit="s fwd+bwd", target=1 / 1.2),
    }
    print_table(f"attention benchmark, float32 CPU, {torch.get_num_threads()} threads", results)
    return results


if __name__ == "__main__":
    main()
