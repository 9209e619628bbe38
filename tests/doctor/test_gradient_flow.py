"""Gradient flow: a cut graph, vanishing gradients, non-finite gradients, and the user's grads kept."""

from __future__ import annotations

import torch
from torch import nn

from scratchformers.doctor import check_model
from scratchformers.doctor.gradients import check_gradient_flow, count_post_ln_blocks, gradient_norms


class Stack(nn.Module):
    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode
        self.emb = nn.Embedding(50, 16)
        self.layers = nn.ModuleList(nn.Linear(16, 16) for _ in range(3))
        self.head = nn.Linear(16, 50)

    def forward(self, ids):
        x = self.emb(ids)
        for i, layer in enumerate(self.layers):
            x = torch.tanh(layer(x))
            if i == 0 and self.mode == "detach":
                x = x.detach()  # "to save memory"
            if i == 0 and self.mode == "tiny":
                x = x * 1e-9  # a badly scaled branch: everything before it learns nothing
        return self.head(x)


IDS = torch.randint(0, 50, (2, 6), generator=torch.Generator().manual_seed(0))


def test_healthy_stack():
    torch.manual_seed(0)
    assert check_gradient_flow(Stack(), IDS).status == "ok"


def test_detached_graph_leaves_parameters_without_gradient():
    torch.manual_seed(0)
    finding = check_gradient_flow(Stack("detach"), IDS)
    assert finding.status == "warn"
    assert "3 trainable parameter tensor(s) get no gradient: emb.weight, layers.0.weight, layers.0.bias" in finding.message


def test_vanishing_gradient_names_the_layer():
    torch.manual_seed(0)
    model = Stack("tiny")
    norms, layers = gradient_norms(model, IDS)
    finding = check_gradient_flow(model, IDS)
    assert finding.status == "fail" and finding.module == "emb"
    assert layers["emb"] < 1e-7 * max(layers.values())  # the measured evidence, recomputed


def test_users_gradients_are_restored():
    torch.manual_seed(0)
    model = Stack()
    model(IDS).sum().backward()
    before = {n: p.grad.clone() for n, p in model.named_parameters()}
    check_model(model, IDS, causal=False, checks=("gradient_flow",))
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, before[n], rtol=0, atol=0)


def test_post_ln_found_by_hooks_and_by_config():
    from scratchformers.models import GPT, BertConfig, BertModel, GPTConfig

    class Block(nn.Module):
        def __init__(self, post):
            super().__init__()
            self.post, self.norm, self.ff = post, nn.LayerNorm(16), nn.Linear(16, 16)

        def forward(self, x):
            return self.norm(x + self.ff(x)) if self.post else x + self.ff(self.norm(x))

    class Net(nn.Module):
        def __init__(self, post):
            super().__init__()
            self.emb, self.blocks = nn.Embedding(50, 16), nn.ModuleList(Block(post) for _ in range(8))

        def forward(self, ids):
            x = self.emb(ids)
            for b in self.blocks:
                x = b(x)
            return x

    assert count_post_ln_blocks(Net(True)) == (8, 8)
    assert count_post_ln_blocks(Net(False)) == (0, 8)
    bert = BertModel(BertConfig(vocab_size=50, max_positions=16, num_layers=3, num_heads=2, d_model=16, d_ff=32))
    gpt = GPT(GPTConfig(vocab_size=50, max_positions=16, num_layers=3, num_heads=2, d_model=16))
    assert count_post_ln_blocks(bert) == (3, 3) and count_post_ln_blocks(gpt) == (0, 3)
