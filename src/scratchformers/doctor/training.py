"""Training setup checks (``check_training``) and :class:`DoctorCallback` for the Trainer.

The callback speaks both forms of the callback protocol: ``scratchformers.training.Trainer``'s
(``on_train_start(trainer)``, ``on_step_end(trainer, record)``, ``on_evaluate(trainer, metrics)``,
``on_train_end(trainer)``) and a plain dict form for hand-written loops (``on_train_begin(state)``,
``on_step_end(state)``, ...) where ``state`` has keys such as ``step``, ``loss``, ``lr``,
``grad_norm``, ``model``, ``optimizer``, ``scheduler``, ``config``.
"""

from __future__ import annotations

import math
from collections import Counter

import torch
from torch import nn

from scratchformers.doctor.findings import Finding, Report
from scratchformers.doctor.gradients import count_post_ln_blocks
from scratchformers.doctor.weights import infer_pretrained

FINE_TUNE_MAX_LR = 1e-4
DEEP_POST_LN = 6
UNKNOWN = object()  # "not given" (None already means "disabled" for max_grad_norm)


def _max_lr(optimizer) -> float | None:
    if optimizer is None:
        return None
    lrs = [g.get("initial_lr", g.get("lr")) for g in optimizer.param_groups]
    lrs = [float(lr) for lr in lrs if lr is not None]
    return max(lrs) if lrs else None


def warmup_from_scheduler(scheduler, probe_steps: int = 2000) -> int | None:
    """Warmup steps of a LambdaLR-style scheduler: steps until the multiplier first reaches its peak."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if not lambdas:
        return None
    factors = [float(lambdas[0](step)) for step in range(probe_steps)]
    peak = max(factors)
    return next(i for i, f in enumerate(factors) if f >= 0.999 * peak)


def _is_pretrained(model, pretrained):
    if pretrained is not None:
        return pretrained
    if model is None:
        return None
    return infer_pretrained(model, use_statistics=True)


def check_training(
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    scheduler=None,
    warmup_steps: int | None = None,
    max_grad_norm=UNKNOWN,
    losses=None,
    labels=None,
    num_classes: int | None = None,
    pretrained: bool | None = None,
) -> Report:
    """Check a training setup. Pass what you have; checks without their inputs are skipped.

    ``max_grad_norm``: the clipping threshold (None or 0 = no clipping). ``losses``: the training
    losses so far. ``labels``: the training labels (classification).
    """
    report = Report("doctor: training setup")
    pretrained = _is_pretrained(model, pretrained)
    lr = _max_lr(optimizer)
    trainable = frac_trainable(model)
    report.add(_check_lr(lr, pretrained, trainable))
    if warmup_steps is None and scheduler is not None:
        warmup_steps = warmup_from_scheduler(scheduler)
    post_ln, blocks = count_post_ln_blocks(model) if model is not None else (0, 0)
    report.add(_check_warmup(warmup_steps, post_ln, blocks, pretrained))
    report.add(_check_clipping(max_grad_norm))
    labels_finding = _check_labels(labels, num_classes)
    report.add(labels_finding)
    if num_classes is None and labels is not None:
        num_classes = len(set(_as_list(labels)))
    report.add(_check_loss(losses, num_classes, lr=lr, pretrained=pretrained, trainable=trainable,
                           labels_finding=labels_finding))
    return report


def frac_trainable(model) -> float | None:
    if model is None:
        return None
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    return sum(p.numel() for p in params if p.requires_grad) / total if total else None


def _check_lr(lr, pretrained, trainable) -> Finding:
    if lr is None:
        return Finding("training.lr", "skip", "no optimizer given")
    if pretrained and (trainable is None or trainable > 0.5) and lr > FINE_TUNE_MAX_LR:
        return Finding("training.lr", "fail",
                       f"learning rate {lr:g} for full fine-tuning of a pretrained model (> {FINE_TUNE_MAX_LR:g})",
                       cause="a from-scratch learning rate destroys the pretrained weights in the first steps "
                             "(catastrophic forgetting); the loss then sticks near ln(num_classes)",
                       fix="torch.optim.AdamW(model.parameters(), lr=2e-5)  # 1e-5..5e-5 with warmup")
    what = "fine-tuning" if pretrained else "training from scratch"
    return Finding("training.lr", "ok", f"learning rate {lr:g} is reasonable for {what}")


def _check_warmup(warmup_steps, post_ln, blocks, pretrained) -> Finding:
    if warmup_steps is None:
        return Finding("training.warmup", "skip", "warmup unknown (pass warmup_steps= or scheduler=)")
    if warmup_steps > 0:
        return Finding("training.warmup", "ok", f"{warmup_steps} warmup steps")
    if post_ln > DEEP_POST_LN:
        return Finding("training.warmup", "warn",
                       f"no warmup with a Post-LN stack of {post_ln}/{blocks} blocks (> {DEEP_POST_LN})",
                       cause="Post-LN transformers have large gradients near the output at initialisation; "
                             "without warmup Adam's first steps blow them up and training diverges",
                       fix="get_linear_schedule_with_warmup(opt, num_warmup_steps=0.06 * total, ...) or use Pre-LN "
                           "(norm_first=True)")
    if pretrained:
        return Finding("training.warmup", "warn", "no warmup while fine-tuning a pretrained model",
                       fix="warm up over ~6-10 % of the steps")
    return Finding("training.warmup", "ok", f"no warmup (fine for a Pre-LN/shallow model: {post_ln} Post-LN blocks)")


def _check_clipping(max_grad_norm) -> Finding:
    if max_grad_norm is UNKNOWN:
        return Finding("training.clipping", "skip", "clipping unknown (pass max_grad_norm=)")
    if not max_grad_norm or math.isinf(max_grad_norm):
        return Finding("training.clipping", "warn", "no gradient clipping",
                       cause="one bad batch can produce a huge update (loss spikes, NaN)",
                       fix="torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) before optimizer.step()")
    return Finding("training.clipping", "ok", f"gradients clipped to norm {max_grad_norm:g}")


def _as_list(values) -> list:
    if isinstance(values, torch.Tensor):
        return values.flatten().tolist()
    return list(values)


def _check_labels(labels, num_classes) -> Finding:
    if labels is None:
        return Finding("training.labels", "skip", "no labels given")
    values = _as_list(labels)
    counts = Counter(values)
    if len(counts) <= 1:
        return Finding("training.labels", "fail", f"all {len(values)} labels are {values[0] if values else None!r}",
                       cause="the label column is constant (wrong column, or labels overwritten during preprocessing)",
                       fix="print(dataset['label'][:20]); check the column name and the label mapping")
    majority, count = counts.most_common(1)[0]
    share = count / len(values)
    dist = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
    if share > 0.9:
        return Finding("training.labels", "warn", f"class {majority!r} is {share:.0%} of the labels ({dist})",
                       cause="class imbalance: predicting the majority class already gives high accuracy",
                       fix="report F1 instead of accuracy; class weights: nn.CrossEntropyLoss(weight=...); resample")
    return Finding("training.labels", "ok", f"{len(counts)} classes ({dist})")


def _check_loss(losses, num_classes, *, lr, pretrained, trainable, labels_finding) -> Finding:
    if losses is None or len(losses) == 0:
        return Finding("training.loss", "skip", "no losses given")
    values = [float(v) for v in _as_list(losses)]
    bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        return Finding("training.loss", "fail", f"loss is {values[bad[0]]} at step {bad[0]}",
                       cause="NaN/Inf loss: learning rate too high, no clipping, fp16 overflow, or log(0)",
                       fix="lower the lr, clip_grad_norm_(..., 1.0), use bf16 instead of fp16, check the inputs for NaN")
    if not num_classes or num_classes < 2:
        return Finding("training.loss", "ok", f"{len(values)} finite losses, last {values[-1]:.4g}")
    chance = math.log(num_classes)
    window = values[-max(5, len(values) // 4):]
    mean = sum(window) / len(window)
    if len(values) >= 10 and abs(mean - chance) < 0.05 * chance:
        causes = []
        if pretrained and lr is not None and lr > FINE_TUNE_MAX_LR:
            causes.append(f"learning rate {lr:g} too high for fine-tuning (use 2e-5)")
        if labels_finding.status in ("fail", "warn"):
            causes.append(labels_finding.message)
        if trainable is not None and trainable == 0:
            causes.append("no trainable parameters (everything frozen)")
        if lr is not None and lr < 1e-6:
            causes.append(f"learning rate {lr:g} too low")
        causes += ["labels not aligned with the inputs (shuffled separately?)",
                   "the classifier reads a padding/[CLS] position that carries no information"]
        return Finding("training.loss", "fail",
                       f"loss {mean:.4f} over the last {len(window)} steps ~ ln({num_classes}) = {chance:.4f}: "
                       "the model predicts chance (accuracy stuck at 1/num_classes)",
                       cause="likely causes, most likely first: " + "; ".join(f"{i + 1}. {c}" for i, c in enumerate(causes)),
                       fix="try lr=2e-5 with warmup, check a few (text, label) pairs by hand, overfit 10 examples first")
    return Finding("training.loss", "ok", f"loss {mean:.4f} moved away from chance ln({num_classes}) = {chance:.4f}")


class DoctorCallback:
    """Trainer callback: checks the setup at the start, watches the loss while training.

    ``trainer = Trainer(..., callbacks=[DoctorCallback(num_classes=2)])``; findings that are not ok
    are printed when they first appear; the final report is ``callback.report``.
    """

    def __init__(self, *, num_classes: int | None = None, check_every: int = 50, raise_on_nan: bool = False,
                 pretrained: bool | None = None, verbose: bool = True):
        self.num_classes = num_classes
        self.check_every = check_every
        self.raise_on_nan = raise_on_nan
        self.pretrained = pretrained
        self.verbose = verbose
        self.losses: list[float] = []
        self.report = Report("doctor: training")
        self._reported: set[str] = set()
        self._setup: dict = {}

    def _emit(self, findings) -> None:
        for f in findings:
            key = f"{f.id}:{f.status}"
            if f.status in ("warn", "fail") and key not in self._reported:
                self._reported.add(key)
                if self.verbose:
                    print(f"[doctor] {f.status.upper()} {f.id}: {f.message}" + (f"\n         fix: {f.fix}" if f.fix else ""))

    @staticmethod
    def _state(state_or_trainer, record: dict | None = None) -> dict:
        """The dict form of the state, from a dict or from a Trainer (+ its step record)."""
        if isinstance(state_or_trainer, dict):
            return {**state_or_trainer, **(record or {})}
        t = state_or_trainer
        state = {key: getattr(t, key, None) for key in ("model", "optimizer", "scheduler", "config", "step")}
        return {**state, **(record or {})}

    def on_train_start(self, trainer) -> None:  # scratchformers.training.Trainer
        self.on_train_begin(self._state(trainer))

    def on_train_begin(self, state: dict) -> None:
        state = self._state(state)
        config = state.get("config")
        warmup = getattr(config, "resolved_warmup_steps", getattr(config, "warmup_steps", None))
        ratio = getattr(config, "warmup_ratio", 0.0) or 0.0
        if ratio > 0 and not hasattr(config, "resolved_warmup_steps"):
            warmup = int(ratio * getattr(config, "max_steps", 0))
        clip = getattr(config, "grad_clip", getattr(config, "max_grad_norm", UNKNOWN)) if config is not None else UNKNOWN
        pretrained = self.pretrained
        if pretrained is None and config is not None and getattr(config, "init_from", None):
            pretrained = True
        self._setup = dict(scheduler=state.get("scheduler"), warmup_steps=warmup, max_grad_norm=clip, pretrained=pretrained)
        report = check_training(state.get("model"), state.get("optimizer"), **self._setup)
        self.report.findings = list(report.findings)
        self._emit(report.findings)

    def on_step_end(self, state, record: dict | None = None) -> None:
        state = self._state(state, record)
        loss = state.get("loss")
        if loss is None:
            return
        loss = float(loss)
        self.losses.append(loss)
        step = state.get("step", len(self.losses))
        if not math.isfinite(loss):
            finding = _check_loss([loss], None, lr=None, pretrained=None, trainable=None, labels_finding=None)
            finding.message = f"loss is {loss} at step {step}"
            self._replace(finding)
            self._emit([finding])
            if self.raise_on_nan:
                raise FloatingPointError(f"doctor: loss became {loss} at step {step}. {finding.fix}")
        elif self.num_classes and len(self.losses) % self.check_every == 0:
            self._update_loss_finding(state)

    def _update_loss_finding(self, state) -> None:
        finding = _check_loss(self.losses, self.num_classes, lr=_max_lr(state.get("optimizer")),
                              pretrained=self._setup.get("pretrained"), trainable=frac_trainable(state.get("model")),
                              labels_finding=Finding("training.labels", "skip", ""))
        self._replace(finding)
        self._emit([finding])

    def _replace(self, finding: Finding) -> None:
        self.report.findings = [f for f in self.report.findings if f.id != finding.id] + [finding]

    def on_evaluate(self, state, metrics: dict) -> None:
        state = self._state(state)
        loss = metrics.get("loss", metrics.get("eval_loss")) if isinstance(metrics, dict) else None
        if loss is not None and not math.isfinite(float(loss)):
            finding = Finding("training.eval_loss", "fail", f"evaluation loss is {loss} at step {state.get('step')}",
                              fix="check the evaluation batches for NaN and the model for fp16 overflow")
            self._replace(finding)
            self._emit([finding])

    def on_train_end(self, state) -> None:
        state = self._state(state)
        if self.losses and not any(f.id == "training.loss" and f.status == "fail" for f in self.report.findings):
            self._update_loss_finding(state)
