"""``scratchformers doctor env``: the software and hardware a model will run on.

Versions (and combinations known to break), CUDA and why it may be missing, GPU memory (unified
memory systems report it differently), bf16, CPU architecture, threads, the CPU kernels the
backends can choose among (the C matrix-vector kernel needs a C compiler), free disk, and the Hugging
Face cache: where it is, how big, and which entries are incomplete or broken.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
from pathlib import Path

from scratchformers.backends import kernels, native
from scratchformers.checkpoints.resolve import hub_cache_dir as hf_cache_dir  # the one place that computes it
from scratchformers.doctor.findings import Finding, Report
from scratchformers.threads import available_cores, default_threads, load_average
from scratchformers.utils import cache_root

# (package, bad version prefix, why): combinations that fail in ways users report as "bugs"
KNOWN_BAD = [
    ("transformers", "4.0", "transformers 4.0-4.9 predate the torch 2 APIs this project uses"),
    ("tokenizers", "0.10", "tokenizers 0.10 cannot read the tokenizer.json files written by current transformers"),
]
MIN_TORCH = (2, 4)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _parse(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def unmet_requirements(package: str) -> list[str]:
    """Installed dependencies of ``package`` whose version its own metadata rules out (the
    classic 'transformers X with tokenizers Y' breakage). Needs ``packaging`` (ships with pip)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return []
    try:
        requirements = importlib.metadata.requires(package) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    problems = []
    for line in requirements:
        try:
            req = Requirement(line)
        except ValueError:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an optional extra
        installed = _version(req.name)
        if installed is not None and req.specifier and not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{package} {_version(package)} requires {req.name}{req.specifier}, found {installed}")
    return problems


def dir_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def cache_problems(cache: Path) -> list[str]:
    """Entries with ``*.incomplete`` blobs (interrupted downloads) or snapshot links to missing blobs."""
    problems = []
    if not cache.is_dir():
        return problems
    for entry in sorted(cache.glob("*--*")):
        incomplete = list(entry.glob("blobs/*.incomplete"))
        broken = [p for p in entry.glob("snapshots/*/**/*") if p.is_symlink() and not p.exists()]
        if incomplete:
            problems.append(f"{entry.name}: {len(incomplete)} incomplete download(s)")
        if broken:
            problems.append(f"{entry.name}: {len(broken)} broken snapshot link(s)")
    return problems


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def load_finding(torch_threads: int, cores: int | None = None, load: float | None = None) -> Finding:
    """Warn when the 1-minute load average exceeds the cores: torch's threads then wait for each other."""
    cores = available_cores() if cores is None else cores
    load = load_average() if load is None else load
    if load is None:
        return Finding("env.load", "ok", "no load average on this OS")
    text = f"load average {load:.1f} on {cores} cores; torch uses {torch_threads} threads"
    if load <= cores:
        return Finding("env.load", "ok", text)
    return Finding("env.load", "warn", text,
                   cause="more runnable processes than cores: every extra torch thread waits for a core, so "
                   "more threads run slower (a 32-token generation took 10x longer with 2 threads than 1)",
                   fix=f"use --threads 1 or sf.set_threads(1) (the commands' default gives the idle cores: "
                   f"{default_threads(cores, load)} here), or wait for the other jobs")


def cpu_kernels_finding() -> Finding:
    """The CPU kernels the backends can choose among here (scratchformers.backends)."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    names = ["MKL", *(["oneDNN"] if kernels.ONEDNN_LINEAR else [])]
    if native.available():
        return Finding("env.cpu_kernels", "ok", f"{capability}: {', '.join(names)} and the C matrix-vector kernel "
                       f"(built for this machine in {cache_root() / 'kernels'})")
    return Finding("env.cpu_kernels", "warn", f"{capability}: {', '.join(names)}; no C matrix-vector kernel",
                   cause="no C compiler (or the build failed): batch-1 decoding streams the weights through "
                   "oneDNN/MKL at about 2/3 of the speed (GPT-2: 25-30 instead of 35-43 GB/s on a 2-core EPYC)",
                   fix="install a C compiler (Debian/Ubuntu: apt install gcc; or set CC), then run this again")


def check_env() -> Report:
    import torch

    report = Report("doctor: environment")
    versions = {name: _version(name) for name in ("torch", "transformers", "tokenizers", "tiktoken", "safetensors")}
    text = f"python {platform.python_version()}, " + ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    bad = [why for pkg, prefix, why in KNOWN_BAD if versions.get(pkg) and versions[pkg].startswith(prefix + ".")]
    for package in ("transformers", "tokenizers"):
        bad.extend(unmet_requirements(package))
    if _parse(torch.__version__)[:2] < MIN_TORCH:
        bad.append(f"torch {torch.__version__} is older than {'.'.join(map(str, MIN_TORCH))}")
    report.add(Finding("env.versions", "warn" if bad else "ok", text + ("; " + "; ".join(bad) if bad else ""),
                       cause="a version combination known to break imports or produce wrong results" if bad else "",
                       fix="pip install -U transformers tokenizers  # versions that agree (pip check lists the conflicts)"
                       if bad else ""))

    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64") and platform.system() == "Linux":
        report.add(Finding("env.cpu", "warn", f"CPU architecture {machine}",
                           cause="pip's aarch64 torch wheels are often CPU-only or lack the vendor's kernels",
                           fix="use the vendor's PyTorch container (e.g. NVIDIA NGC nvcr.io/nvidia/pytorch) on ARM GPU systems"))
    else:
        report.add(Finding("env.cpu", "ok", f"{platform.system()} {machine}, {os.cpu_count()} CPUs, "
                           f"torch uses {torch.get_num_threads()} threads"))

    report.add(load_finding(torch.get_num_threads()))
    report.add(cpu_kernels_finding())
    report.add(_cuda_finding(torch))

    usage = shutil.disk_usage(Path.cwd())
    status = "warn" if usage.free < 10 * 2**30 else "ok"
    report.add(Finding("env.disk", status, f"{_gib(usage.free)} free of {_gib(usage.total)} at {Path.cwd()}",
                       fix="free some space: a 7B checkpoint needs ~15 GiB" if status == "warn" else ""))

    cache = hf_cache_dir()
    if cache.is_dir():
        problems = cache_problems(cache)
        entries = len(list(cache.glob("*--*")))
        report.add(Finding("env.hf_cache", "warn" if problems else "ok",
                           f"{cache}: {entries} entries, {_gib(dir_size(cache))}"
                           + ("; " + "; ".join(problems) if problems else ""),
                           cause="interrupted downloads leave partial files that later loads trip over" if problems else "",
                           fix="scratchformers cache clear MODEL_ID  # then download again" if problems else ""))
    else:
        report.add(Finding("env.hf_cache", "ok", f"{cache} does not exist (nothing downloaded; this project works offline)"))
    return report


def _cuda_finding(torch) -> Finding:
    if not torch.cuda.is_available():
        cuda_build = torch.version.cuda
        if cuda_build is None:
            why = "this torch build is CPU-only (torch.version.cuda is None)"
            fix = "pip install torch --index-url https://download.pytorch.org/whl/cu124  # if you have an NVIDIA GPU"
        elif not shutil.which("nvidia-smi"):
            why = f"torch is built for CUDA {cuda_build} but no NVIDIA driver was found (nvidia-smi missing)"
            fix = "install the NVIDIA driver, or run on a GPU machine"
        else:
            why = f"torch is built for CUDA {cuda_build} but cannot reach the GPU (driver too old? CUDA_VISIBLE_DEVICES?)"
            fix = "update the driver to one supporting this CUDA version; check CUDA_VISIBLE_DEVICES"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return Finding("env.cuda", "ok", "no CUDA; Apple MPS is available (device='mps')")
        return Finding("env.cuda", "warn", f"CUDA not available: {why}; models run on the CPU", fix=fix)
    props = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    unified = bool(getattr(props, "is_integrated", False))
    text = (f"{torch.cuda.device_count()} GPU(s): {props.name}, {_gib(free)} free of {_gib(total)}, "
            f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}, CUDA {torch.version.cuda}")
    if unified:
        text += ("; unified memory (integrated GPU): mem_get_info reports memory shared with the CPU, "
                 "so 'free' includes what the OS could reclaim")
    return Finding("env.cuda", "ok", text)
