"""``scratchformers info``: versions and the compute device."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="versions of python/torch/scratchformers and the device")
    p.set_defaults(func=run)


def collect() -> dict:
    import platform

    import torch

    from scratchformers.utils import default_device
    from scratchformers.version import __version__

    device = default_device()
    info = {
        "scratchformers": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "device": device.type,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = props.name
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["bf16"] = torch.cuda.is_bf16_supported()
    return info


def run(args: argparse.Namespace) -> int:
    for key, value in collect().items():
        print(f"{key:>16}: {value}")
    return 0
