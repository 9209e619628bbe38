"""The NaN/Inf guard stops the step, names the module where the NaN was born, and suggests causes."""

import pytest
import torch
from torch import nn

from scratchformers.data import RandomWindows
from scratchformers.training.guard import NonFiniteLossError, likely_causes
from scratchformers.training.trainer import Trainer


class LogOfInput(nn.Module):
    """A planted bug: log of a linear layer's output is NaN wherever that output is negative."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.log(self.inner(x))


def test_guard_names_the_planted_module_and_keeps_last_checkpoint(make_gpt, make_config, token_ids):
    model = make_gpt(dropout=0.0)
    model.blocks[1].ffn.up_proj = LogOfInput(model.blocks[1].ffn.up_proj)
    cfg = make_config(max_steps=5, warmup_steps=0, grad_clip=0.0, lr=0.05)
    trainer = Trainer(model, cfg, RandomWindows(token_ids, 8, 4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit()
    err = info.value
    assert err.module == "blocks.1.ffn.up_proj"  # the innermost module whose output went NaN
    message = str(err)
    assert "blocks.1.ffn.up_proj" in message and "step 0" in message
    assert "no learning-rate warmup" in message and "clipping is off" in message and "0.05" in message
    assert trainer.step == 0
    for k, v in model.state_dict().items():  # the bad step was not applied
        assert torch.equal(v, before[k]), k


def test_causes_name_fully_masked_attention_rows_and_high_lr():
    model = nn.Linear(2, 2)
    batch = {"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0]])}
    causes = likely_causes(lr=0.1, warmup_steps=100, grad_clip=1.0, step=5, batch=batch, dtype="float32",
                           culprit="bert.blocks.0.self_attn", model=model)
    assert any("attention_mask is all zeros" in c for c in causes)
    assert any("learning rate 0.1 is high" in c for c in causes)
    assert not any("warmup" in c or "clipping" in c for c in causes)  # those are fine here
    batch["attention_mask"][1, 0] = 1
    causes = likely_causes(lr=1e-4, warmup_steps=100, grad_clip=1.0, step=5, batch=batch, dtype="fp16",
                           culprit="bert.blocks.0.self_attn", model=model)
    assert any("every key is masked" in c for c in causes) and any("fp16" in c for c in causes)


def test_gradient_only_nan_is_traced_to_a_parameter(make_gpt, make_config, token_ids):
    class NaNGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    class Wrap(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(NaNGradient.apply(x))

    model = make_gpt(dropout=0.0)
    model.blocks[0].ffn.down_proj = Wrap(model.blocks[0].ffn.down_proj)
    with pytest.raises(NonFiniteLossError, match="gradient norm") as info:
        Trainer(model, make_config(max_steps=3), RandomWindows(token_ids, 8, 4)).fit()
    assert "backward pass" in str(info.value) and info.value.module is not None
