"""``scratchformers demo``: the end-to-end tour (grows as the package grows)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="run the end-to-end demo on the packaged assets")
    p.add_argument("--quick", action="store_true", help="smallest settings (CI smoke test)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    import scratchformers as sf

    torch.manual_seed(0)
    config = sf.GPTConfig(vocab_size=256, max_positions=64, num_layers=4, num_heads=4, d_model=128)
    model = sf.GPT(config).eval()
    tokens = torch.tensor([list(b"hello, transformers")])
    start = time.perf_counter()
    with torch.no_grad():
        out = model(tokens, need_weights=True)
    elapsed = time.perf_counter() - start
    print(f"GPT {config}")
    print(f"parameters: {model.num_parameters():,}")
    print(f"input {tuple(tokens.shape)} -> logits {tuple(out.logits.shape)} in {elapsed * 1000:.1f} ms")
    print(f"attention weights per layer: {tuple(out.attentions[0].shape)} (rows sum to 1 over keys)")
    return 0
