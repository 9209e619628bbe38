"""``run_demo``: the six steps into one folder, then ``results.json`` and ``report.html``."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path

from scratchformers.demo.report import write_report
from scratchformers.demo.settings import DemoRun, DemoSettings, check_assets, cpu_threads, section
from scratchformers.demo.steps import STEPS
from scratchformers.training.trainer import resolve_device


def run_demo(settings: DemoSettings, out: str | Path, device: str = "auto", threads: int | None = 1) -> DemoRun:
    """Run the six steps into ``out``; returns the run (results, timings) after writing report.html.

    ``threads``: torch CPU threads for the run (None: torch's default, one per core). The default is
    1: the demo's models are small, and when other processes share the cores, torch's extra OpenMP
    threads spin instead of working (measured on a loaded 2-core machine: MiniLM fine-tuning step
    0.9 s with 1 thread vs 7.5 s with 2; SmolLM2 0.4 s vs 5.8 s for 8 tokens).
    """
    check_assets()  # fail fast, before minutes of work, with the pip commands
    run = DemoRun(settings, Path(out), resolve_device(device))
    run.out.mkdir(parents=True, exist_ok=True)
    print(f"scratchformers demo ({settings.name}) on {run.device}, writing to {run.out}")
    with cpu_threads(run.device, threads) if threads else contextlib.nullcontext():
        for name, title, step in STEPS:
            section(title)
            start = time.perf_counter()
            run.results[name] = step(run)
            run.timings[name] = time.perf_counter() - start
    (run.path("results.json")).write_text(json.dumps(
        {"settings": asdict(settings), "device": str(run.device), "timings_s": run.timings, **run.results},
        indent=2, default=str))
    write_report(run)
    return run
