"""Run every benchmark in bench/ twice and write docs/benchmarks.md (machine, versions, GEMM GFLOPS and
bandwidth per column, medians, ratios, limit fractions) plus docs/benchmarks.png and .json.

    python bench/run_all.py [--quick] [--only attention,tokenizer] [--columns native,avx2] [--out DIR]

Columns: ``native`` runs the scripts as the machine is; ``avx2`` runs them in a subprocess under
AVX2 emulation (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2``),
so an AVX-512 machine also shows what a user with AVX2 only sees. Each column's process measures
its own GEMM GFLOPS (MKL and oneDNN) and bandwidth (bench/_machine.py), which proves the emulation
changed the kernels. Each bench/<name>.py exposes ``main(argv=None) -> dict`` of rows
``name -> _common.entry(...)`` (or ``{"_skipped": reason}`` when an optional peer is missing). ``--quick`` runs every script's quick mode and writes to
runs/bench-quick/ so the published figures in docs/ are never overwritten by a smoke test. A script
that fails is reported (traceback in the report, exit status 1) without stopping the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _machine import ISA_ENV  # noqa: E402
from _report import limit_fraction, met, normalise, write_report  # noqa: E402, F401 - re-exported for the tests

COLUMNS = {"native": {}, "avx2": ISA_ENV}


def discover() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all")


def run_scripts(selected: list[str], quick: bool) -> dict:
    """Every selected script in this process: {"probe", "results", "errors", "seconds"}."""
    from _machine import probe

    column = {"probe": probe(quick), "results": {}, "errors": {}, "seconds": {}}
    print(f"capability {column['probe']['capability']}, GEMM GFLOPS {column['probe']['gemm_gflops']}, "
          f"bandwidth GB/s {column['probe']['bandwidth_gbs']}", flush=True)
    for script in selected:
        print(f"=== {script} ===", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(script)
            results = module.main(["--quick"] if quick else [])
            if not isinstance(results, dict) or not results:
                raise TypeError(f"{script}.main() returned {type(results).__name__}; it must return a non-empty dict")
            if "_skipped" in results:  # an optional peer is not installed here: one line in the report
                column.setdefault("skipped", {})[script] = results["_skipped"]
                continue
            column["results"][script] = {name: normalise(row) for name, row in results.items()}
        except Exception:  # one broken script must not hide the others' results
            column["errors"][script] = traceback.format_exc(limit=5)
            print(column["errors"][script], file=sys.stderr)
        column["seconds"][script] = time.perf_counter() - start
        print(f"=== {script}: {column['seconds'][script]:.0f} s ===", flush=True)
    return column


def run_column(name: str, selected: list[str], quick: bool) -> dict:
    """One column in its own process (the ISA variables must be set before torch loads)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "column.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(out), "--only", ",".join(selected)]
        if quick:
            command.append("--quick")
        env = {**os.environ, **COLUMNS[name]}
        print(f"##### column {name}: {' '.join(f'{k}={v}' for k, v in COLUMNS[name].items()) or 'as the machine is'}",
              flush=True)
        status = subprocess.run(command, env=env).returncode
        if out.exists():
            return json.loads(out.read_text())
        return {"probe": None, "results": {}, "errors": {"(column)": f"worker exited with status {status}"},
                "seconds": {}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every script in its --quick mode (smoke test)")
    parser.add_argument("--only", default="", help="comma-separated script names")
    parser.add_argument("--columns", default=",".join(COLUMNS), help=f"comma-separated, from {', '.join(COLUMNS)}")
    parser.add_argument("--out", default=None,
                        help="folder for benchmarks.md/.png/.json (default: docs/, or runs/bench-quick with --quick, "
                        "so a smoke test never overwrites the published figures)")
    parser.add_argument("--note", default="", help="a line for the report's head (e.g. how busy the machine was)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: one column, JSON to this path
    args = parser.parse_args(argv)
    scripts = discover()
    only = [s for s in args.only.split(",") if s]
    unknown = sorted(set(only) - set(scripts))
    if unknown:
        parser.error(f"unknown bench script(s) {unknown}; available: {', '.join(scripts)}")
    columns = [c for c in args.columns.split(",") if c]
    if not columns or set(columns) - set(COLUMNS):
        parser.error(f"unknown column(s) in {args.columns!r}; available: {', '.join(COLUMNS)}")
    selected = [s for s in scripts if not only or s in only]
    if args.worker:
        column = run_scripts(selected, args.quick)
        Path(args.worker).write_text(json.dumps(column))
        return 0
    out_dir = Path(args.out) if args.out else (ROOT / "runs" / "bench-quick" if args.quick else ROOT / "docs")
    start = time.perf_counter()
    results = {name: run_column(name, selected, args.quick) for name in columns}
    command = "`python bench/run_all.py" + (" --quick" if args.quick else "") + (f" --only {args.only}" if only else "") + "`"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    note = f"load average at the end: {load:.1f}" + (f"; {args.note}" if args.note else "")
    write_report(results, args.quick, out_dir, command + (" (`make bench`)" if command == "`python bench/run_all.py`" else ""),
                 note=note)
    failed = [f"{script} [{name}]" for name, column in results.items() for script in column["errors"]]
    print(f"total {time.perf_counter() - start:.0f} s")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
