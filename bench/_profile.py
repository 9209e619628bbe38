"""Top ops of one train step, ours next to the peer's, from torch.profiler (docs/performance.md).

    python bench/_profile.py bert [--steps 3] [--rows 15]        # BERT 6L/384, batch 32 x 128
    python bench/_profile.py char-gpt                             # char-GPT vs the nanoGPT loop
    python bench/_profile.py bert --plain                         # ours without backends (before)
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 python bench/_profile.py bert

Self CPU time per op, summed over ``--steps`` steps after warm-up; the GEMM rows (addmm, mm,
_linear_pointwise, bmm) against everything else is where a step's overhead shows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))

GEMM_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "mkldnn::_linear_pointwise", "aten::matmul", "aten::linear")


def bert_steppers(plain: bool, batch: int = 32, seq: int = 128):
    import transformers

    from scratchformers.backends import optimize
    from scratchformers.models import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    ours = BertForSequenceClassification(BertConfig(num_layers=6, d_model=384, num_heads=12, d_ff=1536)).train()
    if not plain:
        optimize(ours)
    peer = transformers.BertForSequenceClassification(transformers.BertConfig(
        hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)).train()
    ids = torch.randint(1000, 30000, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    labels = torch.randint(0, 2, (batch,))

    def stepper(model):
        opt = torch.optim.AdamW(model.parameters(), lr=3e-5, fused=True)

        def step():
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step

    return stepper(ours), stepper(peer), None


def char_gpt_steppers(plain: bool):
    from scratchformers.backends import plain as make_plain
    from training import char_gpt_runs

    tmp = tempfile.TemporaryDirectory()
    ours, peer = char_gpt_runs(Path(tmp.name))
    if plain:
        make_plain(ours.model)
    return ours.train_step, peer.step, tmp


def top_ops(step, steps: int) -> tuple[list, float, float]:
    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) / 1e3 / steps
    gemm = sum(e.self_cpu_time_total for e in events if e.key in GEMM_OPS) / 1e3 / steps
    return [(e.key, e.self_cpu_time_total / 1e3 / steps, e.count // steps) for e in events], total, gemm


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["bert", "char-gpt"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="one step")
    parser.add_argument("--plain", action="store_true", help="ours without scratchformers.backends (the 'before')")
    args = parser.parse_args(argv)
    steppers = bert_steppers if args.which == "bert" else char_gpt_steppers
    ours_step, peer_step, keep = steppers(args.plain)
    steps = 1 if args.quick else args.steps
    report = {}
    print(f"{args.which}: capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, "
          f"self CPU ms per step")
    for name, step in (("ours", ours_step), ("peer", peer_step)):
        rows, total, gemm = top_ops(step, steps)
        report[name] = {"total_ms": total, "gemm_ms": gemm, "top": rows[: args.rows]}
        print(f"\n{name}: {total:.1f} ms per step, GEMMs {gemm:.1f} ms, everything else {total - gemm:.1f} ms")
        for key, ms, count in rows[: args.rows]:
            print(f"  {key:<58} {ms:>9.2f} ms  x{count}")
    del keep
    return report


if __name__ == "__main__":
    main()
