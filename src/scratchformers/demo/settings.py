"""The demo's settings, the state its steps share, and small helpers (assets, corpus, threads)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from scratchformers import assets
from scratchformers.assets import rotten_tomatoes
from scratchformers.errors import AssetNotInstalledError

ASSETS_NEEDED = ("rotten-tomatoes", "minilm", "smollm2-135m")
EOT = "<|endoftext|>"


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of every step. ``full()`` fits in 10 minutes on 2 CPU cores (measured 6), ``quick()`` in seconds."""

    name: str
    corpus_lines: int | None  # RT snippets used for the tokenizer and the GPT (None = all 12.8k)
    compare_kinds: tuple[str, ...]  # tokenizer kinds in the trade-off table
    compare_vocab_sizes: tuple[int, ...]
    vocab_size: int  # the byte-level BPE the GPT is trained with
    gpt_layers: int
    gpt_heads: int
    gpt_d_model: int
    block_size: int
    batch_size: int
    gpt_steps: int
    gpt_lr: float
    gpt_new_tokens: int  # prompt + new tokens stay within block_size (the positions it was trained on)
    smol_new_tokens: int
    num_beams: int
    finetune_examples: int  # a random subset of RT, split 80/10/10 (stratified) by `finetune`
    finetune_epochs: float
    finetune_batch_size: int
    finetune_lr: float
    max_length: int
    attention_sentence: str = "The plot is thin, but the acting is wonderful."

    @classmethod
    def full(cls) -> DemoSettings:
        return cls(
            name="full", corpus_lines=None, compare_kinds=("wordlevel", "bpe", "bytelevel"),
            compare_vocab_sizes=(1000, 4000, 16000), vocab_size=4000,
            gpt_layers=4, gpt_heads=4, gpt_d_model=128, block_size=64, batch_size=16, gpt_steps=1000, gpt_lr=2e-3,
            gpt_new_tokens=40, smol_new_tokens=32, num_beams=4,
            finetune_examples=6000, finetune_epochs=1.0, finetune_batch_size=32, finetune_lr=5e-5, max_length=64,
        )  # fmt: skip

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(
            name="quick", corpus_lines=1500, compare_kinds=("bytelevel",), compare_vocab_sizes=(300, 600),
            vocab_size=400, gpt_layers=2, gpt_heads=2, gpt_d_model=64, block_size=32, batch_size=8, gpt_steps=30,
            gpt_lr=3e-3, gpt_new_tokens=12, smol_new_tokens=3, num_beams=2,
            finetune_examples=200, finetune_epochs=0.15, finetune_batch_size=8, finetune_lr=5e-5, max_length=32,
        )  # fmt: skip


@dataclass
class DemoRun:
    """What the steps share: settings, the output folder, the device and the results so far."""

    settings: DemoSettings
    out: Path
    device: torch.device
    seed: int = 0
    results: dict = field(default_factory=dict)  # step name -> its JSON-able summary
    timings: dict = field(default_factory=dict)  # step name -> seconds
    objects: dict = field(default_factory=dict)  # models/tokenizers handed from step to step

    def path(self, name: str) -> Path:
        return self.out / name

    def rel(self, path: Path) -> str:
        return Path(path).relative_to(self.out).as_posix()


def section(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * max(4, 70 - len(title))}", flush=True)


@contextlib.contextmanager
def cpu_threads(device: torch.device, threads: int):
    """Run the block with ``threads`` torch CPU threads (no effect on GPUs); restores the old count."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_assets(names=ASSETS_NEEDED) -> dict[str, Path]:
    """Paths of the assets the demo needs, or one error listing every missing one with its pip command."""
    found, missing = {}, []
    for name in names:
        try:
            found[name] = assets.asset_path(name)
        except AssetNotInstalledError as err:
            missing.append(str(err))
    if missing:
        raise AssetNotInstalledError("the demo needs offline assets that are missing:\n  " + "\n  ".join(missing))
    return found


def corpus(run: DemoRun) -> list[str]:
    """The Rotten Tomatoes snippets (all, or the first ``corpus_lines`` for the quick run)."""
    if "corpus" not in run.objects:
        texts, _ = rotten_tomatoes()
        run.objects["corpus"] = texts[: run.settings.corpus_lines] if run.settings.corpus_lines else texts
    return run.objects["corpus"]
