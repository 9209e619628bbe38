"""Run every benchmark in bench/ and write docs/benchmarks.md (machine, versions, medians, ratios)
plus docs/benchmarks.png and docs/benchmarks.json.

    python bench/run_all.py [--quick] [--only attention,tokenizer] [--out DIR]

Each bench/<name>.py exposes ``main(argv=None) -> dict`` of rows ``name -> _common.entry(...)``
(ours, peer, unit, ratio, target). ``--quick`` runs every script's quick mode and writes to
runs/bench-quick/ so the published figures in docs/ are never overwritten by a smoke test. A
script that fails is reported (traceback in the report, exit status 1) without stopping the others.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import platform
import sys
import time
import traceback
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


def normalise(row: dict) -> dict:
    """One result row in the contract's shape (``_common.entry``: ours, peer, unit, ratio, target).

    Scripts that built rows by hand may lack ``unit`` or give ``target=None`` (no target for that
    case); extra keys (e.g. ``same_tokens``) are kept as notes.
    """
    known = ("ours", "peer", "unit", "ratio", "target")
    missing = [k for k in ("ours", "peer", "ratio") if k not in row]
    if missing:
        raise ValueError(f"result row lacks {missing}; rows must come from _common.entry(...)")
    notes = ", ".join(f"{k}={v}" for k, v in row.items() if k not in known)
    return {"ours": float(row["ours"]), "peer": float(row["peer"]), "ratio": float(row["ratio"]),
            "unit": row.get("unit") or "", "target": row.get("target"), "notes": notes}


def met(row: dict) -> str:
    if row["target"] is None:
        return "n/a"
    return "yes" if row["ratio"] >= row["target"] else "**no**"


def write_report(all_results: dict, errors: dict, seconds: dict, quick: bool, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "benchmarks.md"
    command = "python bench/run_all.py" + (" --quick" if quick else "")
    lines = ["# Benchmarks", "", f"Produced by `{command}`" + (" (`make bench`)" if not quick else " (`make bench-quick`)")
             + ". Every script times us and the peer tool side by side in the same process.", ""]
    lines += machine_lines() + ["", "Ratio = our speed / peer speed (above 1: we are faster). Medians of repeated runs.", ""]
    for script, results in all_results.items():
        lines += [f"## {script} ({seconds[script]:.0f} s)", "",
                  "| case | ours | peer | unit | ratio | target | met | notes |", "|---|---|---|---|---|---|---|---|"]
        for name, r in results.items():
            target = "-" if r["target"] is None else f"{r['target']:.2f}"
            lines.append(f"| {name} | {r['ours']:.4g} | {r['peer']:.4g} | {r['unit']} | {r['ratio']:.2f} | {target} "
                         f"| {met(r)} | {r['notes']} |")
        lines.append("")
    for script, error in errors.items():
        lines += [f"## {script}: FAILED", "", "```", error, "```", ""]
    lines.append("![ratios](benchmarks.png)")
    out.write_text("\n".join(lines) + "\n")
    (out_dir / "benchmarks.json").write_text(json.dumps({"results": all_results, "errors": errors,
                                                          "seconds": seconds, "quick": quick}, indent=2))
    chart(all_results, out_dir / "benchmarks.png")
    print(f"\nwrote {out}, {out_dir / 'benchmarks.png'} and {out_dir / 'benchmarks.json'}")
    return out


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
    colors = ["tab:gray" if t is None else "tab:green" if r >= t else "tab:red" for r, t in zip(ratios, targets)]
    ax.barh(range(len(names)), ratios, color=colors)
    marked = [(t, i) for i, t in enumerate(targets) if t is not None]
    ax.scatter([t for t, _ in marked], [i for _, i in marked], marker="|", s=300, color="black", label="target")
    for i, ratio in enumerate(ratios):
        ax.annotate(f"{ratio:.2f}", (ratio, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    ax.axvline(1.0, color="gray", lw=0.8)
    ax.set_xscale("log")  # ratios span 0.01 .. 100: a linear axis would hide everything below 1
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speed ratio vs peer, log scale (higher is better; green = target met, gray = no target)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every script in its --quick mode (smoke test)")
    parser.add_argument("--only", default="", help="comma-separated script names")
    parser.add_argument("--out", default=None,
                        help="folder for benchmarks.md/.png/.json (default: docs/, or runs/bench-quick with --quick, "
                        "so a smoke test never overwrites the published figures)")
    args = parser.parse_args(argv)
    scripts = discover()
    only = [s for s in args.only.split(",") if s]
    unknown = sorted(set(only) - set(scripts))
    if unknown:
        parser.error(f"unknown bench script(s) {unknown}; available: {', '.join(scripts)}")
    selected = [s for s in scripts if not only or s in only]
    out_dir = Path(args.out) if args.out else (ROOT / "runs" / "bench-quick" if args.quick else ROOT / "docs")
    all_results, errors, seconds = {}, {}, {}
    for script in selected:
        print(f"=== {script} ===", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(script)
            results = module.main(["--quick"] if args.quick else [])
            if not isinstance(results, dict) or not results:
                raise TypeError(f"{script}.main() returned {type(results).__name__}; it must return a non-empty dict")
            all_results[script] = {name: normalise(row) for name, row in results.items()}
        except Exception:  # one broken script must not hide the others' results
            errors[script] = traceback.format_exc(limit=5)
            print(errors[script], file=sys.stderr)
        seconds[script] = time.perf_counter() - start
        print(f"=== {script}: {seconds[script]:.0f} s ===", flush=True)
    write_report(all_results, errors, seconds, args.quick, out_dir)
    if errors:
        print(f"FAILED: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
