"""docs/benchmarks.md (+ .json, .png) from the columns of bench/run_all.py.

A column is one run of every script in its own process: ``native`` (the machine as it is) and
``avx2`` (the same machine under AVX2 emulation). Each column carries the probe of
bench/_machine.py (GEMM GFLOPS, bandwidth, CPU capability) measured in that process, so the report
shows that the emulation really changed the kernels, and each row's achieved fraction of the limit.
"""

from __future__ import annotations

import datetime
import importlib
import json
import platform
from pathlib import Path

KNOWN = ("ours", "peer", "unit", "ratio", "target", "flops_per_unit", "bytes_per_unit", "peer_bytes_per_unit")


def normalise(row: dict) -> dict:
    """One result row in the contract's shape (``_common.entry``: ours, peer, unit, ratio, target),
    plus the optional work per unit (``flops_per_unit`` of a training row, ``bytes_per_unit`` of a
    decoding row) that puts it against the machine's limit. Other keys are kept as notes."""
    missing = [k for k in ("ours", "peer", "ratio") if k not in row]
    if missing:
        raise ValueError(f"result row lacks {missing}; rows must come from _common.entry(...)")
    notes = ", ".join(f"{k}={v}" for k, v in row.items() if k not in KNOWN)
    return {"ours": float(row["ours"]), "peer": float(row["peer"]), "ratio": float(row["ratio"]),
            "unit": row.get("unit") or "", "target": row.get("target"), "notes": notes,
            "flops_per_unit": row.get("flops_per_unit"), "bytes_per_unit": row.get("bytes_per_unit"),
            "peer_bytes_per_unit": row.get("peer_bytes_per_unit") or row.get("bytes_per_unit")}


def met(row: dict | None) -> str:
    if row is None or row["target"] is None:
        return "n/a"
    return "yes" if row["ratio"] >= row["target"] else "**no**"


def limit_fraction(row: dict, probe: dict) -> str:
    """Ours (and the peer) against the machine: FLOPs/s vs the GEMM peak, or bytes/s vs bandwidth."""
    if row.get("flops_per_unit"):
        peak = probe["gemm_peak_gflops"] * 1e9
        return f"{row['ours'] * row['flops_per_unit'] / peak:.0%} / {row['peer'] * row['flops_per_unit'] / peak:.0%} GEMM"
    if row.get("bytes_per_unit"):
        bandwidth = probe["bandwidth_gbs"]["read"] * 1e9
        return (f"{row['ours'] * row['bytes_per_unit'] / bandwidth:.0%} / "
                f"{row['peer'] * (row.get('peer_bytes_per_unit') or row['bytes_per_unit']) / bandwidth:.0%} BW")
    return ""


def machine_lines(columns: dict) -> list[str]:
    import torch

    import scratchformers
    from scratchformers.backends.choice import cpu_model

    lines = [
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {cpu_model()}, {torch.get_num_threads()} torch threads",
        f"- python {platform.python_version()}, torch {torch.__version__}, scratchformers {scratchformers.__version__}",
    ]
    for name in ("transformers", "tokenizers", "tiktoken"):
        try:
            lines.append(f"- {name} {importlib.import_module(name).__version__}")
        except ImportError:
            pass
    probes = [c["probe"] for c in columns.values() if c.get("probe")]
    if probes:
        lines.append(f"- CPU flags (/proc/cpuinfo): {' '.join(probes[0]['flags']) or 'unknown'}")
    lines += ["", "| column | ISA variables | torch CPU capability | GEMM GFLOPS MKL (F.linear) | GEMM GFLOPS oneDNN "
              "| read GB/s | copy GB/s |", "|---|---|---|---|---|---|---|"]
    for name, column in columns.items():
        p = column.get("probe")
        if not p:
            lines.append(f"| {name} | (probe failed) | | | | | |")
            continue
        env = " ".join(f"{k}={v}" for k, v in p["isa_env"].items() if v) or "(none)"
        gemm = p["gemm_gflops"]
        lines.append(f"| {name} | {env} | {p['capability']} | {gemm.get('mkl', 0):.0f} | {gemm.get('onednn', 0):.0f} "
                     f"| {p['bandwidth_gbs']['read']:.1f} | {p['bandwidth_gbs']['copy']:.1f} |")
    return lines


def _cell(row: dict | None) -> str:
    return "- | - | -" if row is None else f"{row['ours']:.4g} | {row['peer']:.4g} | {row['ratio']:.2f}"


def write_report(columns: dict, quick: bool, out_dir: Path, command: str, note: str = "") -> Path:
    """columns: name -> {"probe", "results": {script: {case: row}}, "errors", "seconds"}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "benchmarks.md"
    names = list(columns)
    lines = ["# Benchmarks", "", f"Produced by {command}. Every script times us and the peer tool side by side in "
             "the same process; each column is a separate process (the `avx2` column under AVX2 emulation).", ""]
    if note:
        lines += [f"**Note:** {note}", ""]
    lines += machine_lines(columns)
    lines += ["", "Ratio = our speed / peer speed (above 1: we are faster). `met` needs the target in every column. "
              "`limit`: achieved fraction of the machine's limit in that column, ours / peer (training: model "
              "FLOPs/s vs the best GEMM GFLOPS; decoding: weight bytes streamed per second vs read bandwidth, the "
              "bytes each side streams: llama.cpp's are the GGUF file's). Available bandwidth on a shared host "
              "varies over seconds, so a fraction is against the column's probe, not the instant of the row.", ""]
    scripts = list(dict.fromkeys(s for c in columns.values() for s in c.get("results", {})))
    for script in scripts:
        secs = " + ".join(f"{columns[n].get('seconds', {}).get(script, 0):.0f}" for n in names)
        header = "| case | unit | target | " + " | ".join(f"{n}: ours | {n}: peer | {n}: ratio" for n in names)
        lines += [f"## {script} ({secs} s)", "", header + " | met | limit (" + " ; ".join(names) + ") | notes |",
                  "|" + "---|" * (3 + 3 * len(names) + 3)]
        cases = list(dict.fromkeys(k for n in names for k in columns[n].get("results", {}).get(script, {})))
        for case in cases:
            rows = [columns[n].get("results", {}).get(script, {}).get(case) for n in names]
            first = next(r for r in rows if r is not None)
            target = "-" if first["target"] is None else f"{first['target']:.2f}"
            verdicts = [met(r) for r in rows]
            verdict = "n/a" if first["target"] is None else ("yes" if all(v == "yes" for v in verdicts) else "**no**")
            limits = " ; ".join(limit_fraction(r, columns[n]["probe"]) if r and columns[n].get("probe") else ""
                                for r, n in zip(rows, names)).strip(" ;")
            notes = " / ".join(dict.fromkeys(r["notes"] for r in rows if r and r["notes"]))
            lines.append(f"| {case} | {first['unit']} | {target} | " + " | ".join(_cell(r) for r in rows)
                         + f" | {verdict} | {limits} | {notes} |")
        lines.append("")
    for name, column in columns.items():
        for script, reason in column.get("skipped", {}).items():
            lines += [f"## {script} [{name}]: skipped", "", reason, ""]
        for script, error in column.get("errors", {}).items():
            lines += [f"## {script} [{name}]: FAILED", "", "```", error, "```", ""]
    lines.append("![ratios](benchmarks.png)")
    out.write_text("\n".join(lines) + "\n")
    (out_dir / "benchmarks.json").write_text(json.dumps({"columns": columns, "quick": quick}, indent=2))
    chart(columns, out_dir / "benchmarks.png")
    print(f"\nwrote {out}, {out_dir / 'benchmarks.png'} and {out_dir / 'benchmarks.json'}")
    return out


def chart(columns: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, ratios, targets = [], [], []
    for column, data in columns.items():
        for script, results in data.get("results", {}).items():
            for name, r in results.items():
                names.append(f"[{column}] {script}: {name}"[:78])
                ratios.append(r["ratio"])
                targets.append(r["target"])
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(1, len(names)) + 1.5))
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
    if marked:
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
