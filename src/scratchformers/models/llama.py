"""Llama-family decoder: RoPE (half-split), RMSNorm, SwiGLU, grouped KV heads, no biases."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.errors import ConfigError
from scratchformers.models.base import check_config
from scratchformers.models.decoder import DecoderLM
from scratchformers.models.outputs import EncoderOutput
from scratchformers.nn.layers import RMSNorm, TransformerBlock
from scratchformers.nn.positional import RotaryEmbedding


@dataclass
class LlamaConfig:
    vocab_size: int = 32000
    max_positions: int = 2048
    num_layers: int = 22
    num_heads: int = 32
    num_kv_heads: int | None = None  # None = num_heads (no grouping)
    d_model: int = 2048
    d_ff: int = 5632
    rms_norm_eps: float = 1e-5
    rope_base: float = 10000.0
    tie_weights: bool = False
    dropout: float = 0.0
    init_std: float = 0.02

    def __post_init__(self):
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads


class LlamaForCausalLM(DecoderLM):
    config_class = LlamaConfig
    scaled_residual_init = False  # Llama initialises every matrix with N(0, 0.02)
    has_lm_head = True

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        positive = (lambda v: v > 0, "must be > 0")
        check_config(config, vocab_size=positive, num_layers=positive, num_heads=positive, d_model=positive)
        if config.d_model % config.num_heads:
            raise ConfigError(f"LlamaConfig: d_model={config.d_model} not divisible by num_heads={config.num_heads}")
        if config.num_heads % config.num_kv_heads:
            raise ConfigError(
                f"LlamaConfig: num_heads={config.num_heads} must be a multiple of num_kv_heads={config.num_kv_heads}"
            )
        head_dim = config.d_model // config.num_heads
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.rope = RotaryEmbedding(head_dim, base=config.rope_base, style="half")
        self.blocks = nn.ModuleList(
            TransformerBlock(
                config.d_model,
                config.num_heads,
                config.d_ff,
                norm_first=True,
                causal=True,
                num_kv_heads=config.num_kv_heads,
                activation="swiglu",
                norm="rmsnorm",
                norm_eps=config.rms_norm_eps,
                bias=False,
                dropout=config.dropout,
            )
            for _ in range(config.num_layers)
        )
        self.final_norm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False) if self.has_lm_head else None
        self.init_weights("normal", config.init_std)
        self.tie_weights()

    def embed(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(input_ids)  # positions enter through RoPE inside attention


class LlamaModel(LlamaForCausalLM):
    """The Llama body without the LM head: returns ``last_hidden_state``."""

    has_lm_head = False

    def forward(self, input_ids, *, attention_mask=None, position_ids=None, cache=None, need_weights=False):
        hidden, attentions = self.forward_hidden(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, cache=cache, need_weights=need_weights
        )
        return EncoderOutput(last_hidden_state=hidden, attentions=attentions)
