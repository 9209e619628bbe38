"""The doctor's cost and the attention page's size.

- ``check_model`` on all-MiniLM-L6-v2 (batch 2, 12 tokens) vs the peer "one forward + backward
  pass" of the same model: the doctor runs ~12 forwards (perturbation tests, traces) and one
  backward, so the target is at most 30 forward+backward passes (ratio >= 1/30).
- ``attention_html`` for 512 tokens (6 layers x 12 heads) vs the dense JSON that viewers such as
  bertviz embed (every weight, 3 decimals): page size (target 10x smaller) and build time.

    python bench/doctor.py [--quick]
    python bench/doctor.py --wild     # the wild corpus: per-class detection table (tests/doctor/wild/)

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
    parser.add_argument("--wild", action="store_true", help="the wild-corpus detection table instead of timings")
    args = parser.parse_args(argv)
    if args.wild:
        return wild_table()
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


def wild_table() -> dict:
    """Every planted bug of the corpus through check_model: found at fail level under the right id,
    alone (root cause first); and the correct models: failures, crashes, seconds per check."""
    import collections
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "wild_harness", Path(__file__).parents[1] / "tests" / "doctor" / "wild" / "harness.py")
    harness = importlib.util.module_from_spec(spec)
    sys.modules["wild_harness"] = harness
    spec.loader.exec_module(harness)
    rows = collections.defaultdict(lambda: [0, 0, 0, 0])
    for mutant in harness.MUTANTS:
        row = rows[mutant.bug]
        row[1] += 1
        try:
            failures = {f.id for f in harness.run_mutant(mutant).findings if f.status == "fail"}
        except Exception:  # noqa: BLE001 - counted as a crash of the doctor
            row[3] += 1
            continue
        row[0] += bool(mutant.expect & failures)
        row[2] += bool(mutant.expect & failures) and len(failures) == 1
    print("| bug class | found (fail, right id) | the only failure | doctor crashed |\n|---|---|---|---|")
    for bug, title in harness.CLASSES.items():
        found, total, alone, crashed = rows[bug]
        print(f"| {title} | {found}/{total} | {alone}/{found} | {crashed} |")
    found, total = sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())
    print(f"| **all** | **{found}/{total} ({found / total:.0%})** | | |")
    failed = crashed = 0
    start = time.perf_counter()
    for style, options, seed, example_options in harness.CORRECT:
        module = harness.load(style)
        try:
            failed += not harness.check(module, module.build(seed, **options), seed, example_options=example_options).ok
        except Exception:  # noqa: BLE001
            crashed += 1
    print(f"correct corpus models: {len(harness.CORRECT)}, with a failure: {failed}, doctor crashed: {crashed}, "
          f"{(time.perf_counter() - start) / len(harness.CORRECT):.2f} s per check_model")
    return {"found": found, "total": total, "false_failures": failed, "crashes": crashed}


if __name__ == "__main__":
    main()
