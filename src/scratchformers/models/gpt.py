"""GPT (GPT-2 architecture): learned positions, Pre-LN blocks, tanh-GELU, tied LM head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.models.base import check_config, check_heads
from scratchformers.models.decoder import DecoderLM
from scratchformers.nn.layers import LayerNorm, TransformerBlock
from scratchformers.nn.positional import LearnedPositionalEmbedding


@dataclass
class GPTConfig:
    vocab_size: int = 50257
    max_positions: int = 1024
    num_layers: int = 12
    num_heads: int = 12
    d_model: int = 768
    d_ff: int | None = None  # default 4 * d_model
    dropout: float = 0.0
    bias: bool = True
    layer_norm_eps: float = 1e-5
    tie_weights: bool = True
    activation: str = "gelu_tanh"
    init_std: float = 0.02

    def __post_init__(self):
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model


class GPT(DecoderLM):
    """Decoder-only LM. ``GPT(GPTConfig(num_layers=4, num_heads=4, d_model=128, ...))``."""

    config_class = GPTConfig

    def __init__(self, config: GPTConfig):
        super().__init__(config)
        positive = (lambda v: v > 0, "must be > 0")
        check_config(
            config,
            vocab_size=positive,
            max_positions=positive,
            num_layers=positive,
            num_heads=positive,
            d_model=positive,
            dropout=(lambda v: 0.0 <= v < 1.0, "must be in [0, 1)"),
        )
        check_heads(config)
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = LearnedPositionalEmbedding(config.max_positions, config.d_model)
        self.rope = None  # positions are added to the embeddings, not rotated into q and k
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                config.d_model,
                config.num_heads,
                config.d_ff,
                norm_first=True,
                causal=True,
                activation=config.activation,
                norm_eps=config.layer_norm_eps,
                bias=config.bias,
                dropout=config.dropout,
            )
            for _ in range(config.num_layers)
        )
        self.final_norm = LayerNorm(config.d_model, config.layer_norm_eps, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.init_weights("normal", config.init_std)
        self.tie_weights()

    def embed(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(input_ids) + self.position_embedding(position_ids)  # (B, T, d)
        return self.dropout(x)
