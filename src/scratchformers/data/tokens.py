"""Token files: a corpus tokenized once into a flat memory-mapped array, read back as random windows.

The nanoGPT recipe: encode every document, append an end-of-text id between documents, and write the
ids as a raw ``uint16`` array (``uint32`` when the vocabulary does not fit in 16 bits) next to a small
JSON header. Writing is streamed in chunks, so a corpus larger than memory is fine; reading is a
``numpy.memmap``, so only the windows a batch touches are paged in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from scratchformers.errors import ConfigError, VocabRangeError

_CHUNK = 1 << 20  # ids buffered in memory before each write


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds every id of a vocabulary."""
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def build_token_file(
    documents: Iterable[str],
    encode: Callable[[str], list[int]],
    path: str | Path,
    *,
    vocab_size: int,
    eot_id: int | None = None,
) -> Path:
    """Encode ``documents`` (streamed) into ``path`` (raw ids) plus ``path.json`` (dtype, counts).

    ``eot_id`` is appended after each document when given (GPT-2's ``<|endoftext|>``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(vocab_size)
    num_tokens, num_documents, buffer = 0, 0, []
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:

        def flush():
            arr = np.asarray(buffer, dtype=np.int64)
            if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
                bad = int(arr[(arr < 0) | (arr >= vocab_size)][0])
                raise VocabRangeError(
                    f"token id {bad} is outside [0, {vocab_size}) while building {path}; "
                    "the tokenizer and vocab_size disagree"
                )
            f.write(arr.astype(dtype).tobytes())
            buffer.clear()

        for doc in documents:
            buffer.extend(encode(doc))
            if eot_id is not None:
                buffer.append(eot_id)
            num_documents += 1
            if len(buffer) >= _CHUNK:
                num_tokens += len(buffer)
                flush()
        num_tokens += len(buffer)
        flush()
    tmp.replace(path)
    meta = {"dtype": dtype.name, "vocab_size": vocab_size, "num_tokens": num_tokens, "num_documents": num_documents}
    path.with_name(path.name + ".json").write_text(json.dumps(meta, indent=2))
    return path


def load_token_file(path: str | Path) -> np.memmap:
    """The ids of a token file as a read-only memory map (dtype from its JSON header)."""
    path = Path(path)
    header = path.with_name(path.name + ".json")
    if not path.exists() or not header.exists():
        raise ConfigError(f"token file {path} (or its header {header.name}) does not exist; build it first")
    meta = json.loads(header.read_text())
    if meta["num_tokens"] == 0:
        raise ConfigError(f"token file {path} is empty: the corpus produced no tokens")
    return np.memmap(path, dtype=np.dtype(meta["dtype"]), mode="r", shape=(meta["num_tokens"],))


class RandomWindows:
    """Batches of random ``block_size`` windows ``x = ids[i:i+T]``, as ``input_ids`` and ``labels``.

    The labels are the window itself (Hugging Face's causal-LM convention): the model shifts them, so
    a window of T tokens trains T - 1 next-token predictions.

    The window starts come from a private ``torch.Generator``; its state is the data position, so a
    resumed run draws exactly the windows the uninterrupted run would have drawn. Under DDP every rank
    draws the same *global* batch and keeps its own slice, so N ranks see what one process would.
    """

    def __init__(self, ids, block_size: int, batch_size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1):
        if len(ids) <= block_size:
            raise ConfigError(
                f"the corpus has {len(ids)} tokens but block_size is {block_size}; "
                "use a larger corpus or a smaller block_size"
            )
        if batch_size % world_size:
            raise ConfigError(f"batch_size {batch_size} is not divisible by world_size {world_size}")
        self.ids, self.block_size, self.batch_size = ids, block_size, batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)

    def next_batch(self) -> dict[str, torch.Tensor]:
        T = self.block_size
        starts = torch.randint(len(self.ids) - T, (self.batch_size,), generator=self.generator)
        local = self.batch_size // self.world_size
        starts = starts[self.rank * local : (self.rank + 1) * local]
        x = torch.stack([torch.from_numpy(self.ids[i : i + T].astype(np.int64)) for i in starts.tolist()])  # (B, T)
        return {"input_ids": x, "labels": x}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state().tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
