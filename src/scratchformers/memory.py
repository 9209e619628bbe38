"""``sf.free_memory(model, optimizer, ...)``: give the memory of finished experiments back.

Python frees a tensor only when its last reference goes; a notebook keeps references everywhere
(``_``, ``Out[12]``, a closure, the optimizer state). So we free what the objects *hold*: a module's
parameters, buffers and gradients become empty, an optimizer's state is cleared, a tensor's storage
is released (``t.data = empty``). The objects themselves stay (unusable), then ``gc.collect()``
and ``torch.cuda.empty_cache()`` run, and the report says how many bytes were released.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class MemoryReport:
    bytes_freed: int  # tensor storage released by emptying the objects (all devices)
    cuda_allocated_before: int | None = None
    cuda_allocated_after: int | None = None
    cuda_reserved_after: int | None = None

    def __str__(self) -> str:
        text = f"freed {self.bytes_freed / 2**20:.1f} MiB of tensor storage"
        if self.cuda_allocated_before is not None:
            text += (f"; CUDA allocated {self.cuda_allocated_before / 2**20:.1f} -> "
                     f"{self.cuda_allocated_after / 2**20:.1f} MiB, reserved {self.cuda_reserved_after / 2**20:.1f} MiB")
        return text


def _tensors_of(obj, seen: set) -> list[torch.Tensor]:
    """Every tensor an object holds: module params/buffers/grads, optimizer state, containers."""
    found = []
    if isinstance(obj, torch.Tensor):
        found.append(obj)
        if obj.grad is not None:
            found.append(obj.grad)
    elif isinstance(obj, nn.Module):
        for t in list(obj.parameters()) + list(obj.buffers()):
            found.extend(_tensors_of(t, seen))
    elif isinstance(obj, torch.optim.Optimizer):
        for state in obj.state.values():
            found.extend(_tensors_of(state, seen))
    elif isinstance(obj, dict):
        for v in obj.values():
            found.extend(_tensors_of(v, seen))
    elif isinstance(obj, (list, tuple, set)):
        for v in obj:
            found.extend(_tensors_of(v, seen))
    return found


def _storage_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        storage = t.untyped_storage()
        key = (storage.data_ptr(), t.device)
        if key not in seen and storage.data_ptr() != 0:
            seen.add(key)
            total += storage.nbytes()
    return total


def _empty(obj) -> None:
    if isinstance(obj, torch.Tensor):
        with torch.no_grad():
            obj.grad = None
            obj.data = torch.empty(0, dtype=obj.dtype, device=obj.device)
    elif isinstance(obj, nn.Module):
        for t in list(obj.parameters()) + list(obj.buffers()):
            _empty(t)
    elif isinstance(obj, torch.optim.Optimizer):
        obj.state.clear()
    elif isinstance(obj, dict):
        for v in obj.values():
            _empty(v)
        obj.clear()
    elif isinstance(obj, list):
        for v in obj:
            _empty(v)
        obj.clear()
    elif isinstance(obj, tuple):
        for v in obj:
            _empty(v)


def free_memory(*objects) -> MemoryReport:
    """Empty ``objects`` (modules, optimizers, tensors, dicts/lists of them) and collect garbage.

    The objects are unusable afterwards; ``del`` your own names too. Returns a :class:`MemoryReport`.
    """
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
    before = torch.cuda.memory_allocated() if cuda else None
    held = _storage_bytes(_tensors_of(list(objects), set()))
    for obj in objects:
        _empty(obj)
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return MemoryReport(
        bytes_freed=held,
        cuda_allocated_before=before,
        cuda_allocated_after=torch.cuda.memory_allocated() if cuda else None,
        cuda_reserved_after=torch.cuda.memory_reserved() if cuda else None,
    )
