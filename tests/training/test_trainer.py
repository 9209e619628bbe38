"""The training loop: learning, accumulation, compile fallback, logs, plots, callbacks."""

import json
import warnings

import pytest
import torch

from scratchformers.data import RandomWindows
from scratchformers.errors import ConfigError
from scratchformers.training.causal_lm import WindowLoss
from scratchformers.training.trainer import Callback, Trainer


class FixedBatches:
    """The same list of batches in order (no randomness): for equivalence tests."""

    def __init__(self, batches):
        self.batches, self.i = batches, 0

    def next_batch(self):
        batch = self.batches[self.i % len(self.batches)]
        self.i += 1
        return batch


def test_tiny_gpt_overfits_one_batch(make_gpt, make_config):
    torch.manual_seed(1)
    ids = torch.randint(0, 16, (4, 8))
    ids[:, 0] = torch.arange(4)  # distinct first tokens: every prefix has one right next token
    batch = {"input_ids": ids, "labels": ids}
    history = Trainer(make_gpt(dropout=0.0), make_config(max_steps=150, lr=3e-3, warmup_steps=5, schedule="constant"),
                      FixedBatches([batch])).fit()
    assert history[0]["loss"] == pytest.approx(torch.log(torch.tensor(16.0)).item(), abs=0.3)  # uniform at init
    assert history[-1]["loss"] < 0.05  # 28 arbitrary next tokens memorized


def test_training_writes_logs_plot_and_config(make_gpt, make_config, token_ids):
    cfg = make_config(max_steps=60, batch_size=8, log_every=20, eval_every=30, plot=True)
    trainer = Trainer(make_gpt(dropout=0.0), cfg, RandomWindows(token_ids, 8, 8), eval_fn=WindowLoss(token_ids, 8, 8, 2))
    history = trainer.fit()
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert trainer.eval_history[-1]["val_loss"] < trainer.eval_history[0]["val_loss"]
    run = trainer.run_dir
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["type"] == "train"]
    assert [r["step"] for r in train] == [20, 40, 60]
    assert all(r["tok_per_s"] > 0 and r["lr"] > 0 for r in train)
    assert [r["step"] for r in records if r["type"] == "eval"] == [30, 60]
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run / "config.json").read_text())["max_steps"] == 60


def test_gradient_accumulation_equals_the_big_batch(make_gpt, make_config):
    torch.manual_seed(0)
    x = torch.randint(0, 16, (8, 8))
    big = FixedBatches([{"input_ids": x, "labels": x}])
    halves = FixedBatches([{"input_ids": x[:4], "labels": x[:4]}, {"input_ids": x[4:], "labels": x[4:]}])
    a = Trainer(make_gpt(dropout=0.0), make_config("a", max_steps=4, batch_size=8), big)
    b = Trainer(make_gpt(dropout=0.0), make_config("b", max_steps=4, batch_size=4, grad_accum_steps=2), halves)
    la, lb = [r["loss"] for r in a.fit()], [r["loss"] for r in b.fit()]
    assert la == pytest.approx(lb, rel=1e-5)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(p, q, atol=1e-5)  # (key biases get ~0 gradient: Adam amplifies noise)


def test_clipping_bounds_the_gradient_norm_seen_by_the_optimizer(make_gpt, make_config, token_ids):
    trainer = Trainer(make_gpt(), make_config(max_steps=1, grad_clip=0.01), RandomWindows(token_ids, 8, 4))
    norms = []
    trainer.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: norms.append(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for g in opt.param_groups for p in g["params"]])).item())
    )
    record = trainer.train_step()
    assert record["grad_norm"] > 0.1  # the raw norm, as logged
    assert norms[0] == pytest.approx(0.01, rel=1e-4)  # what AdamW actually received


def test_compile_failure_falls_back_to_eager_with_a_warning(make_gpt, make_config, token_ids, monkeypatch):
    class Broken(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args, **kwargs):
            raise RuntimeError("backend exploded")

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Broken(model))
    trainer = Trainer(make_gpt(), make_config(max_steps=3, compile=True), RandomWindows(token_ids, 8, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = trainer.fit()
    assert len(history) == 3 and all(torch.isfinite(torch.tensor(r["loss"])) for r in history)
    assert any("falling back to eager" in str(w.message) and "backend exploded" in str(w.message) for w in caught)


def test_callbacks_see_every_step_and_evaluation(make_gpt, make_config, token_ids):
    seen = []

    class Spy(Callback):
        def on_train_start(self, trainer):
            seen.append("start")

        def on_step_end(self, trainer, record):
            seen.append(record["step"])

        def on_evaluate(self, trainer, metrics):
            seen.append(("eval", metrics["step"]))

        def on_train_end(self, trainer):
            seen.append("end")

    Trainer(make_gpt(), make_config(max_steps=4, eval_every=2), RandomWindows(token_ids, 8, 4),
            eval_fn=lambda m: {"x": 1.0}, callbacks=[Spy()]).fit()
    assert seen == ["start", 1, 2, ("eval", 2), 3, 4, ("eval", 4), "end"]


def test_batch_size_must_split_across_ranks(make_gpt, make_config, token_ids):
    with pytest.raises(ConfigError, match="not divisible"):
        RandomWindows(token_ids, 8, 5, world_size=2)
