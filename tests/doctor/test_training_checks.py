"""Training-setup checks and the Trainer callback."""

from __future__ import annotations

import math

import pytest
import torch

from scratchformers.doctor import DoctorCallback, check_training
from scratchformers.doctor.training import warmup_from_scheduler


def _not_ok(report):
    return {f.id for f in report.findings if f.status in ("warn", "fail")}


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers.BertModel.from_pretrained(minilm_dir)


def test_lr_1e3_on_a_pretrained_encoder_is_the_only_failure(minilm):
    opt = torch.optim.AdamW(minilm.parameters(), lr=1e-3)
    report = check_training(minilm, opt, warmup_steps=100, max_grad_norm=1.0)
    assert _not_ok(report) == {"training.lr"}, str(report)
    finding = report.get("training.lr")
    assert finding.status == "fail" and "0.001" in finding.message and "lr=2e-5" in finding.fix
    good = check_training(minilm, torch.optim.AdamW(minilm.parameters(), lr=2e-5), warmup_steps=100, max_grad_norm=1.0)
    assert good.ok and not good.warnings, str(good)


def test_lr_1e3_is_fine_from_scratch(student):
    model = student(None)
    report = check_training(model, torch.optim.AdamW(model.parameters(), lr=1e-3), warmup_steps=10, max_grad_norm=1.0)
    assert report.get("training.lr").status == "ok"  # random weights: inferred not pretrained


def test_post_ln_12_layers_without_warmup(student):
    model = student(None, n_layers=12, post_ln=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    report = check_training(model, opt, warmup_steps=0, max_grad_norm=1.0, pretrained=False)
    assert _not_ok(report) == {"training.warmup"}, str(report)
    assert "Post-LN stack of 12/12 blocks" in report.get("training.warmup").message
    # the same depth Pre-LN, or Post-LN with warmup, is fine
    pre_ln = student(None, n_layers=12)
    assert _not_ok(check_training(pre_ln, opt, warmup_steps=0, max_grad_norm=1.0, pretrained=False)) == set()
    assert _not_ok(check_training(model, opt, warmup_steps=500, max_grad_norm=1.0, pretrained=False)) == set()


def test_warmup_read_from_a_lambda_scheduler(student):
    model = student(None)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50))
    assert warmup_from_scheduler(sched) == 49  # multiplier reaches 1.0 at step 49
    constant = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    assert warmup_from_scheduler(constant) == 0


def test_no_clipping_warns():
    report = check_training(max_grad_norm=None)
    assert report.get("training.clipping").status == "warn"
    assert report.get("training.clipping").fix.startswith("torch.nn.utils.clip_grad_norm_")


def test_loss_stuck_at_chance_ranks_the_likely_causes(minilm):
    losses = [math.log(2) + 0.01 * ((-1) ** i) for i in range(60)]  # hovering at ln 2 = 0.693
    opt = torch.optim.AdamW(minilm.parameters(), lr=1e-3)
    report = check_training(minilm, opt, losses=losses, num_classes=2, warmup_steps=100, max_grad_norm=1.0)
    finding = report.get("training.loss")
    assert finding.status == "fail" and "ln(2) = 0.6931" in finding.message
    assert finding.cause.index("1. learning rate 0.001 too high") < finding.cause.index("2.")
    learning = [2.0 * math.exp(-i / 10) + 0.05 for i in range(60)]
    assert check_training(losses=learning, num_classes=2).get("training.loss").status == "ok"


def test_nan_loss_constant_and_imbalanced_labels():
    assert check_training(losses=[1.0, 0.9, float("nan")]).get("training.loss").status == "fail"
    constant = check_training(labels=torch.ones(100, dtype=torch.long)).get("training.labels")
    assert constant.status == "fail" and "all 100 labels are 1" in constant.message
    imbalanced = check_training(labels=[0] * 95 + [1] * 5).get("training.labels")
    assert imbalanced.status == "warn" and "95%" in imbalanced.message
    balanced = check_training(labels=[0] * 50 + [1] * 50).get("training.labels")
    assert balanced.status == "ok"


def test_callback_with_the_dict_protocol(student, capsys):
    model = student(None, n_layers=12, post_ln=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    class Config:
        warmup_steps, grad_clip, max_steps = 0, 1.0, 100

    cb = DoctorCallback(num_classes=2, check_every=20)
    cb.on_train_begin({"model": model, "optimizer": opt, "config": Config(), "step": 0})
    assert cb.report.get("training.warmup").status == "warn"
    for step in range(40):
        cb.on_step_end({"step": step, "loss": math.log(2), "lr": 1e-4})
    assert cb.report.get("training.loss").status == "fail"
    cb.on_step_end({"step": 40, "loss": float("nan")})
    assert "loss is nan at step 40" in cb.report.get("training.loss").message
    out = capsys.readouterr().out
    assert "[doctor] WARN training.warmup" in out and "[doctor] FAIL training.loss" in out
    with pytest.raises(FloatingPointError):
        DoctorCallback(raise_on_nan=True, verbose=False).on_step_end({"step": 3, "loss": float("inf")})


def test_callback_runs_inside_our_trainer(student, tmp_path):
    from scratchformers.training.config import TrainConfig
    from scratchformers.training.trainer import Trainer

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, targets):
            logits = self.inner(input_ids)

            class Out:
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())

            return Out()

    class Batches:
        def __init__(self):
            self.gen = torch.Generator().manual_seed(0)

        def next_batch(self):
            ids = torch.randint(0, 64, (4, 9), generator=self.gen)
            return {"input_ids": ids[:, :-1], "targets": ids[:, 1:]}

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    config = TrainConfig(max_steps=3, batch_size=4, lr=1e-3, warmup_steps=0, grad_clip=0.0, run_dir=str(tmp_path),
                         progress=False, plot=False, save_every=0, log_every=1, device="cpu")
    cb = DoctorCallback(verbose=False)
    Trainer(Wrapped(student(None)), config, Batches(), callbacks=[cb]).fit()
    assert cb.report.get("training.clipping").status == "warn"  # grad_clip=0 in the config
    assert cb.report.get("training.lr").status == "ok"
    assert len(cb.losses) == 3 and all(math.isfinite(v) for v in cb.losses)
