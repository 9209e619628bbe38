"""Batches of variable-length examples: dynamic padding, length bucketing, truncation counting.

Padding every batch only to its own longest example (not to the model's 512) and grouping examples of
similar length into the same batch are the two cheap speedups of fine-tuning: most of the compute of
a padded batch is spent on padding otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from scratchformers.errors import ConfigError


def truncate(ids: list[int], max_length: int, *, keep_last: bool = True) -> list[int]:
    """Cut to ``max_length``; ``keep_last`` keeps the final special token (BERT's ``[SEP]``)."""
    if len(ids) <= max_length:
        return ids
    return ids[: max_length - 1] + [ids[-1]] if keep_last else ids[:max_length]


def encode_texts(
    texts: Sequence[str], encode: Callable[[str], list[int]], max_length: int, labels: Sequence[int] | None = None
) -> tuple[list[dict], int]:
    """Tokenize once; returns the examples and how many had to be truncated to ``max_length``."""
    examples, truncated = [], 0
    for i, text in enumerate(texts):
        ids = list(encode(text))
        if len(ids) > max_length:
            truncated += 1
            ids = truncate(ids, max_length)
        example = {"input_ids": ids}
        if labels is not None:
            example["labels"] = int(labels[i])
        examples.append(example)
    return examples, truncated


class PaddingCollator:
    """Pads ``input_ids`` (and any other list field) to the longest example of the batch.

    Produces ``attention_mask`` (1 = real token). Integer fields stay scalars; padding of
    ``labels`` sequences uses -100 so the loss ignores it.
    """

    def __init__(self, pad_id: int = 0, label_pad_id: int = -100):
        self.pad_id, self.label_pad_id = pad_id, label_pad_id

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for key in examples[0]:
            values = [ex[key] for ex in examples]
            if not isinstance(values[0], (list, tuple)):
                batch[key] = torch.tensor(values)
                continue
            width = max(len(v) for v in values)
            pad = self.label_pad_id if key == "labels" else self.pad_id
            batch[key] = torch.tensor([list(v) + [pad] * (width - len(v)) for v in values])  # (B, width)
            if key == "input_ids":
                batch["attention_mask"] = torch.tensor([[1] * len(v) + [0] * (width - len(v)) for v in values])
            elif key == "decoder_input_ids":
                batch["decoder_attention_mask"] = torch.tensor(
                    [[1] * len(v) + [0] * (width - len(v)) for v in values]
                )
        return batch


def bucketed_order(lengths: Sequence[int], batch_size: int, generator: torch.Generator, *, bucket: bool) -> list[list[int]]:
    """Index batches for one epoch: shuffled; with ``bucket``, sorted by length inside pools of 50 batches."""
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    if bucket:
        pool = batch_size * 50
        perm = [i for s in range(0, len(perm), pool) for i in sorted(perm[s : s + pool], key=lambda j: lengths[j])]
    batches = [perm[s : s + batch_size] for s in range(0, len(perm), batch_size)]
    if bucket:  # the batches themselves in random order, so lengths do not rise through the epoch
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


class EpochBatches:
    """Endless batches over a list of examples, epoch after epoch, with an exact resumable position.

    ``batch_size`` is the global batch: under DDP each rank collates its own contiguous slice of every
    global batch, so N processes see exactly what one process would.
    """

    def __init__(
        self,
        examples: list[dict],
        batch_size: int,
        collate: Callable[[list[dict]], dict],
        *,
        seed: int = 0,
        shuffle: bool = True,
        bucket: bool = True,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ):
        if not examples:
            raise ConfigError("no training examples: the dataset is empty")
        if batch_size % world_size:
            raise ConfigError(f"batch_size {batch_size} is not divisible by world_size {world_size}")
        self.examples, self.batch_size, self.collate = examples, batch_size, collate
        self.seed, self.shuffle, self.bucket, self.drop_last = seed, shuffle, bucket, drop_last
        self.rank, self.world_size = rank, world_size
        self.lengths = [len(ex["input_ids"]) for ex in examples]
        self.epoch, self.position = 0, 0
        self._batches = self._plan(0)

    def _plan(self, epoch: int) -> list[list[int]]:
        if not self.shuffle:
            order = list(range(len(self.examples)))
            batches = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        else:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            batches = bucketed_order(self.lengths, self.batch_size, gen, bucket=self.bucket)
        if self.drop_last and len(batches) > 1 and len(batches[-1]) < self.batch_size:
            batches = batches[:-1]
        return batches

    @property
    def batches_per_epoch(self) -> int:
        return len(self._batches)

    def next_batch(self) -> dict[str, torch.Tensor]:
        if self.position >= len(self._batches):
            self.epoch, self.position = self.epoch + 1, 0
            self._batches = self._plan(self.epoch)
        indices = self._batches[self.position]
        self.position += 1
        local = -(-len(indices) // self.world_size)
        mine = indices[self.rank * local : (self.rank + 1) * local]
        return self.collate([self.examples[i] for i in mine])

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._batches = self._plan(self.epoch)


def iterate_batches(examples: list[dict], batch_size: int, collate: Callable[[list[dict]], dict], *, sort: bool = True):
    """Every example once, in length order (fast evaluation); yields ``(indices, batch)``."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input_ids"])) if sort else list(range(len(examples)))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        yield idx, collate([examples[i] for i in idx])
