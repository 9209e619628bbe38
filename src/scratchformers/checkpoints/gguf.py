"""GGUF files (llama.cpp): metadata and dequantised tensors, whatever the architecture.

A GGUF file holds metadata (architecture, sizes, the tokenizer) and tensors, most of them
quantised in blocks of 32 values. We read it with the ``gguf`` package and dequantise with
``gguf.quants.dequantize`` (checked against our own numpy decoding in the tests). What the names
and metadata mean for one architecture (the Hugging Face config, tensor names, llama.cpp's Q/K row
permutation) lives beside that model: :mod:`scratchformers.models.llama.convert`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns "IProgress not found" in notebooks

from scratchformers.errors import CheckpointError

# Tensor types we decode and have verified; anything else is refused with a clear message.
SUPPORTED_TYPES = ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q8_0")

def read_metadata(reader) -> dict:
    """The key/value fields of a ``gguf.GGUFReader`` as plain Python values."""
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            meta[key] = field.contents()
        except Exception:  # a field type this gguf version cannot decode: skip rather than fail
            continue
    return meta


def _open(path: Path):
    try:
        import gguf
    except ImportError as err:  # pragma: no cover - the dev extras install it
        raise CheckpointError("reading GGUF files needs the `gguf` package: pip install gguf") from err
    try:
        return gguf.GGUFReader(str(path))
    except Exception as err:  # truncated files fail inside numpy memmap / struct parsing
        raise CheckpointError(
            f"cannot read {path} as GGUF: {err}. The file is probably truncated or not a GGUF file."
        ) from err


def dequantize(tensor) -> np.ndarray:
    """A ``gguf`` ReaderTensor as a float32 array in PyTorch layout (rows = output features)."""
    from gguf.quants import dequantize as gguf_dequantize

    kind = tensor.tensor_type.name
    if kind not in SUPPORTED_TYPES:
        raise CheckpointError(
            f"tensor {tensor.name} is stored as {kind}; supported GGUF types are "
            f"{', '.join(SUPPORTED_TYPES)}. Re-export the model with one of them (llama.cpp "
            "`llama-quantize ... Q8_0`), or convert the original Hugging Face folder instead."
        )
    values = np.asarray(gguf_dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
    if not values.flags.writeable:  # F32 tensors come back as views of the read-only memory map
        values = values.copy()
    # GGUF shapes list the fastest dimension first; PyTorch's is the reverse.
    return values.reshape(tuple(int(n) for n in reversed(tensor.shape)))


@dataclass
class GGUFFile:
    """An open GGUF file: its metadata now, its tensors (dequantised) when iterated."""

    path: Path
    metadata: dict  # every key/value field, decoded to Python values
    reader: object  # the gguf.GGUFReader (memory-maps the file; nothing is decoded yet)

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def tensor_names(self) -> set[str]:
        return {t.name for t in self.reader.tensors}

    def tensors(self, *, progress: bool = False) -> Iterator[tuple[str, str, torch.Tensor]]:
        """``(GGUF name, quantisation type, float32 tensor in PyTorch layout)`` for every tensor."""
        for tensor in tqdm(self.reader.tensors, desc=f"dequantising {self.path.name}", disable=not progress):
            yield tensor.name, tensor.tensor_type.name, torch.from_numpy(dequantize(tensor))


def open_gguf(path: str | Path) -> GGUFFile:
    """Open a GGUF file and read its metadata (tensors are dequantised only when iterated)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"GGUF file {path} does not exist")
    reader = _open(path)
    return GGUFFile(path=path, metadata=read_metadata(reader), reader=reader)


def read_gguf_summary(path: str | Path) -> tuple[dict, list[tuple[str, str, tuple]]]:
    """Metadata and (name, type, PyTorch shape) of every tensor, without dequantising (for `inspect`)."""
    reader = _open(Path(path))
    tensors = [(t.name, t.tensor_type.name, tuple(int(n) for n in reversed(t.shape))) for t in reader.tensors]
    return read_metadata(reader), tensors
