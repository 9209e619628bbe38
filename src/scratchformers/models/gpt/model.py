"""GPT (GPT-2 architecture): learned positions, Pre-LN blocks, tanh-GELU, tied LM head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.models.blocks import BlockSpec
from scratchformers.models.config import validate_config
from scratchformers.models.decoder import DecoderLM
from scratchformers.models.gpt import convert
from scratchformers.nn.layers import ACTIVATIONS, LayerNorm
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
    norm_eps: float = 1e-5
    tie_weights: bool = True
    activation: str = "gelu_tanh"
    init_std: float = 0.02

    def __post_init__(self):
        if self.d_ff is None and isinstance(self.d_model, int):
            self.d_ff = 4 * self.d_model
        validate_config(
            self,
            positive=("vocab_size", "max_positions", "num_layers", "num_heads", "d_model", "d_ff", "init_std"),
            probabilities=("dropout",),
            choices={"activation": (*ACTIVATIONS, "swiglu")},
        )

    def block_spec(self) -> BlockSpec:
        return BlockSpec(self.d_model, self.num_heads, self.d_ff, activation=self.activation, norm_eps=self.norm_eps,
                         bias=self.bias, causal=True, dropout=self.dropout)


class GPT(DecoderLM):
    """Decoder-only LM. ``GPT(GPTConfig(num_layers=4, num_heads=4, d_model=128, ...))``."""

    config_class = GPTConfig
    conversion = convert  # Hugging Face / GGUF names and config of this class

    def __init__(self, config: GPTConfig):
        super().__init__(config)
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = LearnedPositionalEmbedding(config.max_positions, config.d_model)
        self.rope = None  # positions are added to the embeddings, not rotated into q and k
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = config.block_spec().stack(config.num_layers)
        self.final_norm = LayerNorm(config.d_model, config.norm_eps, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.init_weights("normal", config.init_std)
        self.tie_weights()

    def embed(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(input_ids) + self.position_embedding(position_ids)  # (B, T, d)
        return self.dropout(x)
