"""AdamW parameter groups and the warmup schedules, checked against transformers' own schedules."""

import pytest
import torch
from torch import nn

from scratchformers.errors import ConfigError
from scratchformers.training.optim import build_optimizer, build_scheduler, parameter_groups


def _lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("warmup,total", [(0, 10), (10, 100), (7, 50)])
def test_schedules_equal_transformers(name, warmup, total):
    import transformers

    reference_fn = {
        "linear": transformers.get_linear_schedule_with_warmup,
        "cosine": transformers.get_cosine_schedule_with_warmup,
    }[name]
    ours_opt = torch.optim.AdamW([nn.Parameter(torch.zeros(2))], lr=3e-4)
    ref_opt = torch.optim.AdamW([nn.Parameter(torch.zeros(2))], lr=3e-4)
    ours = build_scheduler(ours_opt, name, warmup_steps=warmup, total_steps=total, min_lr_ratio=0.0)
    ref = reference_fn(ref_opt, warmup, total)
    assert _lrs(ours, ours_opt, total + 1) == _lrs(ref, ref_opt, total + 1)  # exact, every step


def test_cosine_stays_at_floor_after_the_end():
    """transformers' cosine rises again past total_steps; ours holds the floor (runs that overshoot)."""
    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = build_scheduler(opt, "cosine", warmup_steps=0, total_steps=10, min_lr_ratio=0.1)
    assert _lrs(sched, opt, 15)[10:] == [pytest.approx(1e-4)] * 5


def test_cosine_floor_matches_nanogpt_formula():
    import math

    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = build_scheduler(opt, "cosine", warmup_steps=100, total_steps=2000, min_lr_ratio=0.1)
    lrs = _lrs(sched, opt, 2001)
    for it in (100, 500, 1000, 1999, 2000):  # nanoGPT get_lr after warmup
        ratio = (it - 100) / (2000 - 100)
        expected = 1e-4 + 0.5 * (1 + math.cos(math.pi * ratio)) * (1e-3 - 1e-4)
        assert lrs[it] == pytest.approx(expected, rel=1e-12)


def test_weight_decay_only_on_matrices():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2, bias=False))
    groups = parameter_groups(model, 0.1)
    decayed = {id(p) for p in groups[0]["params"]}
    no_decay = {id(p) for p in groups[1]["params"]}
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    assert decayed == {id(model[0].weight), id(model[1].weight), id(model[3].weight)}
    assert no_decay == {id(model[1].bias), id(model[2].weight), id(model[2].bias)}


def test_frozen_parameters_left_out_and_all_frozen_is_an_error():
    model = nn.Linear(3, 3)
    model.bias.requires_grad_(False)
    opt = build_optimizer(model, 1e-3, 0.1)
    assert sum(len(g["params"]) for g in opt.param_groups) == 1
    model.weight.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        build_optimizer(model, 1e-3)


def test_decay_applies_as_decoupled_weight_decay():
    """One AdamW step with zero gradient moves only decayed weights, by lr * wd * w."""
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(1.0)
    opt = build_optimizer(model, lr=0.1, weight_decay=0.5, fused=False)
    model.weight.grad = torch.zeros_like(model.weight)
    model.bias.grad = torch.zeros_like(model.bias)
    opt.step()
    assert torch.allclose(model.weight, torch.full((2, 2), 1 - 0.1 * 0.5))
    assert torch.equal(model.bias, torch.ones(2))


def test_bad_schedule_names_and_values():
    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-3)
    with pytest.raises(ConfigError, match="unknown schedule"):
        build_scheduler(opt, "exp", warmup_steps=0, total_steps=10)
    with pytest.raises(ConfigError, match="total_steps"):
        build_scheduler(opt, "linear", warmup_steps=0, total_steps=0)
    with pytest.raises(ConfigError, match="positive"):
        build_optimizer(nn.Linear(1, 1), lr=0)


def test_fused_adamw_on_cpu_when_pytorch_has_it_and_same_result_as_foreach():
    """PyTorch >= 2.4 ships a fused CPU AdamW; ours picks it and it computes what the foreach one does."""
    from scratchformers.training.optim import _fused_devices

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 4))
    twin = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 4))
    twin.load_state_dict(model.state_dict())
    fused = build_optimizer(model, 1e-2, 0.1)
    assert fused.defaults.get("fused") is ("cpu" in _fused_devices() or None)
    reference = torch.optim.AdamW(parameter_groups(twin, 0.1), lr=1e-2, foreach=True)
    x = torch.randn(32, 8)
    for _ in range(5):
        for m, opt in ((model, fused), (twin, reference)):
            m(x).square().mean().backward()
            opt.step()
            opt.zero_grad()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_fused_choice_looks_at_trainable_float_parameters_only():
    from scratchformers.training.optim import _fused_devices, fused_supported

    model = nn.Linear(2, 2)
    model.register_parameter("count", nn.Parameter(torch.zeros(1, dtype=torch.long), requires_grad=False))
    assert fused_supported(model) == ("cpu" in _fused_devices())  # a frozen integer buffer does not matter
    frozen = nn.Linear(2, 2).requires_grad_(False)
    assert fused_supported(frozen) is False  # nothing to optimise


def test_layerwise_lr_decay_gives_each_depth_its_rate_and_keeps_decay_groups():
    from scratchformers.training.optim import layerwise_parameter_groups

    head, top, bottom = nn.Linear(4, 2), nn.Linear(4, 4), nn.Embedding(10, 4)
    groups = layerwise_parameter_groups([list(head.parameters()), list(top.parameters()), list(bottom.parameters())],
                                        lr=1e-3, weight_decay=0.01, decay=0.5)
    rates = {(id(p), g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    assert rates == {
        (id(head.weight), 1e-3, 0.01), (id(head.bias), 1e-3, 0.0),
        (id(top.weight), 5e-4, 0.01), (id(top.bias), 5e-4, 0.0),
        (id(bottom.weight), 2.5e-4, 0.01),
    }
    opt = build_optimizer(head, 1e-3, groups=groups)
    sched = build_scheduler(opt, "linear", warmup_steps=2, total_steps=10)
    opt.step()
    sched.step()  # the schedule scales every group by the same factor, keeping the ratios
    assert [g["lr"] for g in opt.param_groups][::2] == pytest.approx([5e-4, 2.5e-4, 1.25e-4])
    with pytest.raises(ConfigError, match="layer-wise lr decay"):
        layerwise_parameter_groups([list(head.parameters())], 1e-3, 0.0, decay=0.0)
