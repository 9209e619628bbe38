"""Llama-family decoder: RoPE (half-split), RMSNorm, SwiGLU, grouped KV heads, no biases.

:class:`LlamaDecoder` is the body (embeddings, blocks, final norm) shared by two siblings:
:class:`LlamaForCausalLM` adds the LM head, :class:`LlamaModel` returns the hidden states.
Neither is an instance of the other, so ``isinstance(m, LlamaForCausalLM)`` means "has a head".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.models.base import reject_unknown_kwargs
from scratchformers.models.blocks import BlockSpec
from scratchformers.models.config import validate_config
from scratchformers.models.decoder import DecoderLM
from scratchformers.models.llama import convert
from scratchformers.models.outputs import EncoderOutput
from scratchformers.nn.layers import RMSNorm
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
    norm_eps: float = 1e-5
    rope_base: float = 10000.0
    tie_weights: bool = False
    dropout: float = 0.0
    init_std: float = 0.02

    def __post_init__(self):
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads
        validate_config(
            self,
            positive=("vocab_size", "max_positions", "num_layers", "num_heads", "num_kv_heads", "d_model", "d_ff",
                      "rope_base", "init_std"),
            probabilities=("dropout",),
        )

    def block_spec(self) -> BlockSpec:
        return BlockSpec(self.d_model, self.num_heads, self.d_ff, num_kv_heads=self.num_kv_heads, activation="swiglu",
                         norm="rmsnorm", norm_eps=self.norm_eps, bias=False, causal=True, dropout=self.dropout)


class LlamaDecoder(DecoderLM):
    """The Llama body; subclasses say whether there is an LM head (:meth:`build_head`)."""

    config_class = LlamaConfig
    conversion = convert  # Hugging Face / GGUF names and config of this class
    scaled_residual_init = False  # Llama initialises every matrix with N(0, 0.02)

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.rope = RotaryEmbedding(config.d_model // config.num_heads, base=config.rope_base, style="half")
        self.blocks = config.block_spec().stack(config.num_layers)
        self.final_norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = self.build_head(config)
        self.init_weights("normal", config.init_std)
        self.tie_weights()

    def build_head(self, config: LlamaConfig) -> nn.Module | None:
        raise NotImplementedError

    def embed(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(input_ids)  # positions enter through RoPE inside attention


class LlamaForCausalLM(LlamaDecoder):
    """The Llama body + an LM head: ``model(ids, labels=ids)`` gives logits and the next-token loss."""

    def build_head(self, config: LlamaConfig) -> nn.Module:
        return nn.Linear(config.d_model, config.vocab_size, bias=False)


class LlamaModel(LlamaDecoder):
    """The Llama body without the LM head: returns ``last_hidden_state``."""

    def build_head(self, config: LlamaConfig) -> None:
        return None

    def forward(self, input_ids, attention_mask=None, *, position_ids=None, cache=None, need_weights=False, **kwargs):
        reject_unknown_kwargs(self, kwargs)
        hidden, attentions = self.forward_hidden(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, cache=cache, need_weights=need_weights
        )
        return EncoderOutput(last_hidden_state=hidden, attentions=attentions)
