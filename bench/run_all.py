"""Run every benchmark in bench/ and write docs/benchmarks.md (machine, versions, medians, ratios)
plus docs/benchmarks.png.

    python bench/run_all.py [--quick] [--only attention,tokenizers]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import platform
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def discover() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all")


def machine_lines() -> list[str]:
    import torch

    import scratchformers

    lines = [
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {torch.get_num_threads()} torch threads, {platform.processor() or 'cpu'}",
        f"- python {platform.python_version()}, torch {torch.__version__}, scratchformers {scratchformers.__version__}",
    ]
    for name in ("transformers", "tokenizers", "tiktoken"):
        try:
            lines.append(f"- {name} {importlib.import_module(name).__version__}")
        except ImportError:
            pass
    if torch.cuda.is_available():
        lines.append(f"- GPU: {torch.cuda.get_device_name(0)}")
    return lines


def write_report(all_results: dict, quick: bool) -> None:
    out = ROOT / "docs" / "benchmarks.md"
    lines = ["# Benchmarks", "", "Produced by `make bench` (`python bench/run_all.py`)" + (" in --quick mode" if quick else "") + ".", ""]
    lines += machine_lines() + ["", "Ratio = our speed / peer speed (above 1: we are faster). Medians of repeated runs.", ""]
    for script, results in all_results.items():
        lines += [f"## {script}", "", "| case | ours | peer | unit | ratio | target | met |", "|---|---|---|---|---|---|---|"]
        for name, r in results.items():
            met = "yes" if r["ratio"] >= r["target"] else "**no**"
            lines.append(f"| {name} | {r['ours']:.4g} | {r['peer']:.4g} | {r['unit']} | {r['ratio']:.2f} | {r['target']:.2f} | {met} |")
        lines.append("")
    lines.append("![ratios](benchmarks.png)")
    out.write_text("\n".join(lines) + "\n")
    chart(all_results, ROOT / "docs" / "benchmarks.png")
    print(f"\nwrote {out}")


def chart(all_results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, ratios, targets = [], [], []
    for script, results in all_results.items():
        for name, r in results.items():
            names.append(f"{script}: {name}"[:70])
            ratios.append(r["ratio"])
            targets.append(r["target"])
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5))
    colors = ["tab:green" if r >= t else "tab:red" for r, t in zip(ratios, targets)]
    ax.barh(range(len(names)), ratios, color=colors)
    ax.scatter(targets, range(len(names)), marker="|", s=300, color="black", label="target")
    ax.axvline(1.0, color="gray", lw=0.8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speed ratio vs peer (higher is better)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated script names")
    args = parser.parse_args(argv)
    selected = [s for s in discover() if not args.only or s in args.only.split(",")]
    all_results = {}
    for script in selected:
        print(f"=== {script} ===", flush=True)
        module = importlib.import_module(script)
        all_results[script] = module.main(["--quick"] if args.quick else [])
    write_report(all_results, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
