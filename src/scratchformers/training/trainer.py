"""The one training loop every task uses (causal LM, masked LM, seq2seq, classification).

A task hands the :class:`Trainer` a model whose ``forward(**batch)`` returns an output with ``.loss``,
an endless batch source (``next_batch()`` + ``state_dict()``), and optionally an evaluation function.
The trainer owns everything else: AdamW + schedule, accumulation, clipping, mixed precision,
``torch.compile`` with an eager fallback, DDP, the NaN guard, checkpoints, logs, the progress bar.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from scratchformers.backends import optimize
from scratchformers.errors import ConfigError
from scratchformers.training import distributed as D
from scratchformers.training.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from scratchformers.training.config import TrainConfig
from scratchformers.training.guard import diagnose
from scratchformers.training.optim import build_optimizer, build_scheduler
from scratchformers.utils import default_device, seed_everything


class Callback:
    """Hooks called by :class:`Trainer`; override the ones you need."""

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, record: dict) -> None: ...

    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


def default_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    return model(**batch).loss


def resolve_device(name: str) -> torch.device:
    return default_device() if name == "auto" else torch.device(name)


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _count(batch: dict) -> tuple[int, int]:
    """(tokens, examples) of a batch; padding does not count as tokens."""
    ids = batch.get("input_ids")
    if ids is None:
        return 0, 0
    mask = batch.get("attention_mask")
    tokens = int(mask.sum()) if mask is not None else ids.numel()
    return tokens, ids.shape[0]


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        train_data,
        *,
        eval_fn: Callable[[nn.Module], dict] | None = None,
        loss_fn: Callable[[nn.Module, dict], torch.Tensor] = default_loss,
        callbacks: Sequence[Callback] = (),
        optimizer: torch.optim.Optimizer | None = None,
        throughput_unit: str = "tokens",
    ):
        self.config = config.validate()
        device = resolve_device(config.device)
        self.dist = D.setup_distributed(device.type)
        if device.type == "cuda" and self.dist.enabled:
            device = torch.device("cuda", self.dist.local_rank)
        self.device = device
        self.model = model.to(device)
        if config.cpu_backends and device.type == "cpu":  # measured GEMM kernels, same maths (backends)
            optimize(self.model)
        self.train_data = train_data
        if hasattr(train_data, "world_size"):  # the source hands each rank its slice of the global batch
            if config.batch_size % self.dist.world_size:
                raise ConfigError(f"batch_size {config.batch_size} is not divisible by {self.dist.world_size} ranks")
            train_data.rank, train_data.world_size = self.dist.rank, self.dist.world_size
        self.eval_fn, self.loss_fn, self.callbacks = eval_fn, loss_fn, list(callbacks)
        self.throughput_unit = throughput_unit
        self.optimizer = optimizer or build_optimizer(
            model, config.lr, config.weight_decay, config.betas, config.eps
        )
        self.scheduler = build_scheduler(
            self.optimizer, config.schedule, warmup_steps=config.resolved_warmup_steps,
            total_steps=config.max_steps, min_lr_ratio=config.min_lr_ratio,
        )
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 and device.type == "cuda" else None
        self.train_model = self._wrap(self._maybe_compile(self.model))
        self._compile_pending = config.compile
        self.step, self.tokens_seen = 0, 0
        self.history: list[dict] = []  # one record per optimizer step
        self.eval_history: list[dict] = []
        self.last_checkpoint: Path | None = None
        self.run_dir = Path(config.run_dir)

    # ---- setup helpers ------------------------------------------------------------------------

    def _amp_dtype(self) -> torch.dtype | None:
        dtype = self.config.dtype
        if dtype == "float32" or (dtype == "auto" and self.device.type != "cuda"):
            return None
        if dtype == "fp16":
            return torch.float16
        return torch.bfloat16  # auto on CUDA, or bf16 asked for explicitly

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _maybe_compile(self, model: nn.Module) -> nn.Module:
        if not self.config.compile:
            return model
        try:
            return torch.compile(model)
        except Exception as err:  # torch.compile itself is lazy; this only catches missing support
            warnings.warn(f"torch.compile is unavailable ({err}); training eagerly", stacklevel=2)
            return model

    def _wrap(self, model: nn.Module) -> nn.Module:
        if not self.dist.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.dist.local_rank] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    @property
    def lr(self) -> float:
        return self.scheduler.get_last_lr()[0]

    # ---- one step -----------------------------------------------------------------------------

    def _loss(self, batch: dict) -> torch.Tensor:
        if self._compile_pending:  # compilation really happens on the first call; fall back if it fails
            self._compile_pending = False
            try:
                with self.autocast():
                    return self.loss_fn(self.train_model, batch)
            except Exception as err:
                warnings.warn(
                    f"torch.compile failed ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                    "falling back to eager mode",
                    stacklevel=2,
                )
                self.train_model = self._wrap(self.model)
        with self.autocast():
            return self.loss_fn(self.train_model, batch)

    def train_step(self) -> dict:
        cfg = self.config
        if not self.model.training:  # train() walks every module: about 0.5 ms a step on a small GPT
            self.model.train()
        lr = self.lr
        micro_batches, loss_sum, tokens, examples = [], torch.zeros((), device=self.device), 0, 0
        for i in range(cfg.grad_accum_steps):
            batch = _to_device(self.train_data.next_batch(), self.device)
            micro_batches.append(batch)
            last = i == cfg.grad_accum_steps - 1
            sync = self.train_model.no_sync() if self.dist.enabled and not last else nullcontext()
            with sync:
                loss = self._loss(batch)
                loss_sum += loss.detach().float()
                scaled = loss / cfg.grad_accum_steps
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            t, e = _count(batch)
            tokens, examples = tokens + t * self.dist.world_size, examples + e * self.dist.world_size
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        params = [p for p in self.model.parameters() if p.grad is not None]
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm) if params else torch.zeros((), device=self.device)
        loss_mean = D.mean_across_ranks(loss_sum / cfg.grad_accum_steps, self.dist)
        loss_value, norm_value = loss_mean.item(), float(grad_norm)
        overflow = self.scaler is not None and not math.isfinite(norm_value)  # fp16: the scaler handles it
        if not math.isfinite(loss_value) or (not math.isfinite(norm_value) and not overflow):
            error = diagnose(  # before zeroing the gradients: they are part of the evidence
                self.model, micro_batches, lambda b: self.loss_fn(self.model, b), lr=cfg.lr,
                warmup_steps=cfg.resolved_warmup_steps, grad_clip=cfg.grad_clip, step=self.step,
                dtype=cfg.dtype, where="loss" if not math.isfinite(loss_value) else "gradient norm",
                last_checkpoint=self.last_checkpoint,
            )
            self.optimizer.zero_grad(set_to_none=True)
            raise error
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        self.tokens_seen += tokens
        return {"step": self.step, "loss": loss_value, "lr": lr, "grad_norm": norm_value,
                "tokens": tokens, "examples": examples}

    # ---- evaluation, checkpoints, logs --------------------------------------------------------

    @torch.no_grad()
    def evaluate(self) -> dict:
        if self.eval_fn is None:
            return {}
        self.model.eval()
        with self.autocast():
            metrics = self.eval_fn(self.model)
        self.model.train()
        return {k: float(v) if isinstance(v, (int, float)) or torch.is_tensor(v) else v for k, v in metrics.items()}

    def state_dict(self) -> dict:
        """Everything except tensors that an exact resume needs."""
        return {
            "tokens_seen": self.tokens_seen,
            "scheduler": self.scheduler.state_dict(),
            "data": self.train_data.state_dict() if hasattr(self.train_data, "state_dict") else {},
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "history": self.history,
            "eval_history": self.eval_history,
            "config": self.config.to_dict(),
        }

    def save(self) -> Path | None:
        rngs = D.gather_objects(rng_state(), self.dist)  # collective: every rank takes part
        if not self.is_main:
            return None
        state = {**self.state_dict(), "rng": rngs}
        self.last_checkpoint = save_checkpoint(
            self.run_dir / "checkpoints", self.step, self.model, self.optimizer, state, keep_last=self.config.keep_last
        )
        return self.last_checkpoint

    def resume(self, path: str | Path | None = None) -> bool:
        """Restore the latest checkpoint of the run (or ``path``); False when there is none."""
        target = Path(path) if path else latest_checkpoint(self.run_dir)
        if target is None:
            return False
        state = load_checkpoint(target, self.model, self.optimizer, map_location=self.device)
        self.scheduler.load_state_dict(state["scheduler"])
        if hasattr(self.train_data, "load_state_dict"):
            self.train_data.load_state_dict(state["data"])
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        self.history, self.eval_history = state["history"], state["eval_history"]
        rngs = state["rng"]
        set_rng_state(rngs[self.dist.rank] if self.dist.rank < len(rngs) else rngs[0])
        self.last_checkpoint = latest_checkpoint(self.run_dir) or Path(target)
        return True

    def _log(self, record: dict) -> None:
        if self.is_main:
            with open(self.run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    # ---- the loop -----------------------------------------------------------------------------

    def fit(self, resume: bool | str | Path = False) -> list[dict]:
        """Train up to ``config.max_steps`` holding RUN_DIR's lock (one run per folder, see
        training/run_lock.py). Ctrl-C finishes the step, saves a checkpoint and raises
        :class:`TrainingInterrupted` (training/interrupt.py)."""
        from scratchformers.training.interrupt import stop_on_interrupt
        from scratchformers.training.run_lock import run_lock

        with run_lock(self.run_dir) if self.is_main else nullcontext(), stop_on_interrupt(self):
            return self._fit(resume)

    def _fit(self, resume: bool | str | Path) -> list[dict]:
        cfg = self.config
        resumed = self.resume(None if resume is True else resume) if resume else False
        if not resumed:
            seed_everything(cfg.seed + self.dist.rank)
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            cfg.save(self.run_dir / "config.json")
        for cb in self.callbacks:
            cb.on_train_start(self)
        from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns "IProgress not found" in notebooks

        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not (cfg.progress and self.is_main),
                   unit="step", dynamic_ncols=True)
        window_start, window_count = time.perf_counter(), 0
        try:
            while self.step < cfg.max_steps:
                record = self.train_step()
                window_count += record["tokens" if self.throughput_unit == "tokens" else "examples"]
                self.history.append({k: record[k] for k in ("step", "loss", "lr", "grad_norm")})
                for cb in self.callbacks:
                    cb.on_step_end(self, record)
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    elapsed = time.perf_counter() - window_start
                    rate = window_count / max(elapsed, 1e-9)
                    unit = "tok/s" if self.throughput_unit == "tokens" else "ex/s"
                    self._log({"type": "train", **record, unit.replace("/", "_per_"): rate})
                    bar.set_postfix({"loss": f"{record['loss']:.4f}", "lr": f"{record['lr']:.2e}", unit: f"{rate:,.0f}"})
                    window_start, window_count = time.perf_counter(), 0
                if self.eval_fn and (self.step % cfg.eval_every == 0 or self.step == cfg.max_steps) and self.is_main:
                    metrics = {"step": self.step, **self.evaluate()}
                    self.eval_history.append(metrics)
                    self._log({"type": "eval", **metrics})
                    bar.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
                    for cb in self.callbacks:
                        cb.on_evaluate(self, metrics)
                if cfg.save_every > 0 and (self.step % cfg.save_every == 0 or self.step == cfg.max_steps):
                    self.save()
        finally:
            bar.close()
            if self.is_main and cfg.plot and self.history:
                from scratchformers.training.plots import plot_training_curves

                plot_training_curves(self.history, self.eval_history, self.run_dir / "curves.png")
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history
