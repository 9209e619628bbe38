"""Training checkpoints that survive a crash: safetensors for tensors, JSON for everything else.

Layout of ``RUN_DIR/checkpoints/``::

    step_000200/model.safetensors       the weights (tied weights stored once)
    step_000200/optimizer.safetensors   AdamW moments, one tensor per (parameter, key)
    step_000200/state.json              step, scheduler, RNG states of every rank, data position, ...
    latest.json                         {"step": 200, "dir": "step_000200"}

Why it is crash-safe: a checkpoint is written into a hidden temporary folder, fsynced, and renamed
into place (a rename is atomic on POSIX); only then is ``latest.json`` replaced, again through a
temporary file and :func:`os.replace`. A ``kill -9`` at any instant therefore leaves ``latest.json``
pointing at a complete checkpoint: the new one or the previous one, never a half-written one.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from scratchformers.errors import CheckpointError

LATEST = "latest.json"
_STEP_DIR = re.compile(r"step_(\d+)")


def checkpoint_dirs(directory: str | Path) -> list[tuple[int, Path]]:
    """The complete ``step_N`` folders under ``directory`` as ``(N, path)``, oldest first.

    Sorted by the step NUMBER: ``step_%06d`` names grow a digit at step 1,000,000, where string
    order would put ``step_1000000`` before ``step_999999`` (and prune the newest checkpoint).
    """
    found = []
    for path in Path(directory).glob("step_*"):
        match = _STEP_DIR.fullmatch(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# ---- RNG states (Python, NumPy, torch CPU and CUDA) as JSON-able values -------------------------


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


# ---- optimizer state: tensors to safetensors, the rest to JSON ----------------------------------


def _split_optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, per_param in sd["state"].items():
        for key, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


# ---- save / load ---------------------------------------------------------------------------------


def save_checkpoint(
    directory: str | Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    state: dict | None = None,
    *,
    keep_last: int = 2,
) -> Path:
    """Write checkpoint ``step`` atomically under ``directory`` and point ``latest.json`` at it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"step_{step:06d}"
    tmp = directory / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        _write_checkpoint_files(tmp, step, model, optimizer, state)
    except BaseException as err:  # a full disk, a write error, Ctrl-C: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise _write_error(directory, step, err) from None
        raise
    final = directory / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(directory)
    _write_json_atomic(directory / LATEST, {"step": step, "dir": name})
    _prune(directory, keep_last)
    return final


def _write_checkpoint_files(tmp: Path, step: int, model: nn.Module, optimizer, state: dict | None) -> None:
    save_model(model, str(tmp / "model.safetensors"))
    meta: dict = {}
    if optimizer is not None:
        tensors, meta = _split_optimizer_state(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
    payload = {"step": step, "optimizer": meta, **(state or {})}
    (tmp / "state.json").write_text(json.dumps(payload))
    for file in tmp.iterdir():  # data on disk before the rename makes it visible
        with open(file, "rb") as f:
            os.fsync(f.fileno())


def _write_error(directory: Path, step: int, err: OSError) -> CheckpointError:
    previous = [n for n, _ in checkpoint_dirs(directory)]
    kept = f"the last complete one (step {previous[-1]}) is intact" if previous else "no earlier checkpoint exists"
    why = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    fix = "free some space" if err.errno == errno.ENOSPC else "check the folder's permissions and free space"
    return CheckpointError(f"could not write checkpoint step {step} in {directory}: {why}; {kept}; "
                           f"{fix}, then rerun with --resume")


def _damaged(path: Path, err: Exception) -> CheckpointError:
    """A checkpoint folder whose files cannot be read: name the file, the older ones and the fix."""
    older = [p for n, p in checkpoint_dirs(path.parent) if p != path and (p / "state.json").exists()]
    fix = (f"resume from the previous one with --resume {older[-1]}" if older
           else "no older checkpoint is left: restore the file from a backup or start a new run")
    why = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
    return CheckpointError(f"checkpoint {path} is damaged ({type(err).__name__}: {why}); checkpoints are renamed into "
                           f"place only when complete, so a file was changed or truncated afterwards; {fix}")


def _prune(directory: Path, keep_last: int) -> None:
    if keep_last <= 0:
        return
    for _, old in checkpoint_dirs(directory)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in directory.glob(".tmp-step_*"):  # leftovers of a killed save
        if not str(stale).endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The folder ``latest.json`` points at, or None when no checkpoint was ever completed."""
    directory = Path(directory)
    if (directory / "checkpoints" / LATEST).exists():
        directory = directory / "checkpoints"
    pointer = directory / LATEST
    if not pointer.exists():
        return None
    try:
        target = directory / json.loads(pointer.read_text())["dir"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        # latest.json is written atomically, so only a hand edit damages it; the step folders are
        # complete by construction (renamed into place whole), so the newest one is the answer.
        found = [path for _, path in checkpoint_dirs(directory) if (path / "state.json").exists()]
        if not found:
            raise CheckpointError(f"{pointer} is unreadable ({err}) and no step_* checkpoint is next to it; "
                                  "delete it to start fresh") from None
        warnings.warn(f"{pointer} is unreadable ({err}); using the newest checkpoint, {found[-1].name}", stacklevel=2)
        return found[-1]
    if not (target / "state.json").exists():
        raise CheckpointError(f"{pointer} points at {target}, which is missing; was the folder moved?")
    return target


def read_state(path: str | Path) -> dict:
    """The JSON state (step, config, ...) of a checkpoint folder, without loading any tensor."""
    path = Path(path)
    if not (path / "state.json").is_file():
        raise CheckpointError(f"{path} is not a checkpoint folder (no state.json); give a step_N folder")
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as err:
        raise _damaged(path, err) from None
    if not isinstance(state, dict):
        raise _damaged(path, ValueError("state.json does not hold an object"))
    return state


def load_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict:
    """Restore weights (and optimizer moments) from a checkpoint folder or a run/checkpoints folder.

    Returns the JSON state (step, scheduler, data position, RNG...). The caller restores those.
    """
    path = Path(path)
    if not (path / "state.json").exists():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"no checkpoint in {path}: expected latest.json or state.json there")
        path = found
    state = read_state(path)  # an object, or a one-line error naming the damaged folder
    try:
        load_model(model, str(path / "model.safetensors"), device=str(map_location))
        tensors = load_file(str(path / "optimizer.safetensors"), device=str(map_location)) if optimizer else None
    except (OSError, ValueError, SafetensorError) as err:  # ValueError: JSON/UTF-8 decoding
        raise _damaged(path, err) from None
    except RuntimeError as err:  # load_state_dict: missing keys or other shapes
        raise CheckpointError(f"checkpoint {path} does not match this model: {str(err).splitlines()[0][:300]}; "
                              "was it written with another model config?") from None
    if optimizer is not None:
        try:
            optimizer.load_state_dict(_join_optimizer_state(tensors, state["optimizer"]))
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"checkpoint {path}: the optimizer state does not match this model ({err}); "
                                  "was it written with another model config?") from None
    return state
