"""Checkpoint loading and saving speed, ours vs transformers, in one run.

    python bench/hub.py            # + SmolLM2-135M from its Q4_1 GGUF (dequantise, un-permute)
    python bench/hub.py --quick    # MiniLM only (under a minute)

Loading: ``scratchformers.from_pretrained`` vs ``transformers.BertModel.from_pretrained`` on the
all-MiniLM-L6-v2 folder (safetensors), and vs ``LlamaForCausalLM.from_pretrained(gguf_file=...)``
on SmolLM2's GGUF. Saving: ``save_pretrained`` of the loaded MiniLM, both sides, to a temp dir.
Medians of interleaved runs (float32, CPU).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import entry, interleaved_times, print_table  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="MiniLM only (under a minute)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = run(quick=args.quick)
    print_table("checkpoints (ratio > 1: we are faster)", results)
    return results


def run(*, quick: bool) -> dict:

    import torch
    import transformers

    from scratchformers.assets import asset_path
    from scratchformers.hub import from_pretrained

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    minilm = asset_path("minilm")
    ours, hf = from_pretrained(minilm), transformers.BertModel.from_pretrained(minilm)
    load = interleaved_times(
        {"ours": lambda: from_pretrained(minilm), "hf": lambda: transformers.BertModel.from_pretrained(minilm)},
        repeats=5,
    )
    with tempfile.TemporaryDirectory() as tmp:
        save = interleaved_times(
            {"ours": lambda: ours.save_pretrained(Path(tmp) / "ours"), "hf": lambda: hf.save_pretrained(Path(tmp) / "hf")},
            repeats=5,
        )
    results = {
        "load MiniLM folder (22.7M, safetensors)": entry(load["ours"], load["hf"], unit="s", target=0.5),
        "save MiniLM (config.json + safetensors)": entry(save["ours"], save["hf"], unit="s", target=0.5),
    }
    if not quick:
        gguf = asset_path("smollm2-135m")
        times = interleaved_times(
            {
                "ours": lambda: from_pretrained(gguf),
                "hf": lambda: transformers.LlamaForCausalLM.from_pretrained(
                    str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
                ),
            },
            repeats=2,
            warmup=0,
        )
        results["load SmolLM2-135M Q4_1 GGUF (dequantise)"] = entry(times["ours"], times["hf"], unit="s", target=1.0)
    return results


if __name__ == "__main__":
    main()
