"""The doctor's cost and the attention page's size.

- ``check_model`` on all-MiniLM-L6-v2 (batch 2, 12 tokens) vs the peer "one forward + backward
  pass" of the same model: the doctor runs ~12 forwards (perturbation tests, traces) and one
  backward, so the target is at most 30 forward+backward passes (ratio >= 1/30).
- ``attention_html`` for 512 tokens (6 layers x 12 heads) vs the dense JSON that viewers such as
  bertviz embed (every weight, 3 decimals): page size (target 10x smaller) and build time.

    python bench/doctor.py [--quick]

Ratio = peer / ours (time or bytes): above 1 means we are faster / smaller.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import entry, interleaved_times, print_table  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (< 1 min)")
    args = parser.parse_args(argv)
    import transformers

    from scratchformers.assets import asset_path
    from scratchformers.doctor import check_model
    from scratchformers.viz import attention_html, collect_attention

    transformers.logging.set_verbosity_error()
    repeats = 2 if args.quick else 5
    model = transformers.BertModel.from_pretrained(asset_path("minilm")).eval()
    ids = torch.randint(1000, 30000, (2, 12), generator=torch.Generator().manual_seed(0))

    def forward_backward():
        out = model(ids)
        out.last_hidden_state.sum().backward()
        model.zero_grad(set_to_none=True)

    times = interleaved_times({"doctor": lambda: check_model(model, ids), "fwd+bwd": forward_backward}, repeats=repeats)
    results = {
        "check_model MiniLM (2x12 tokens)": entry(times["doctor"], times["fwd+bwd"], unit="s", target=1 / 30),
    }

    long_ids = torch.randint(1000, 30000, (1, 512), generator=torch.Generator().manual_seed(1))
    attentions = collect_attention(model, long_ids)
    tokens = [f"t{i}" for i in range(512)]

    def dense_json():
        return json.dumps({"tokens": tokens, "attention": [[[[round(v, 3) for v in row] for row in head]
                                                             for head in layer[0].tolist()] for layer in attentions]})

    start = time.perf_counter()
    page = attention_html(attentions, tokens)
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    dense = dense_json()
    peer_time = time.perf_counter() - start
    results["attention_html 512 tokens: page size"] = entry(len(page.encode()) / 2**20, len(dense.encode()) / 2**20,
                                                            unit="MiB", target=10.0)
    results["attention_html 512 tokens: build time"] = entry(ours_time, peer_time, unit="s", target=1.0)
    print_table("doctor / viz (peer: one forward+backward; dense JSON of every weight)", results)
    return results


if __name__ == "__main__":
    main()
