"""A generic transformer encoder: embeddings + a chosen positional encoding + N blocks.

This is the module's "stack 6 layers" deliverable, and the encoder half of
:class:`~scratchformers.models.encoder_decoder.EncoderDecoder`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.errors import ConfigError, ShapeError, shape_str
from scratchformers.models.base import Model, reject_unknown_kwargs
from scratchformers.models.blocks import BlockSpec
from scratchformers.models.config import validate_config
from scratchformers.models.outputs import EncoderOutput
from scratchformers.nn.layers import ACTIVATIONS, make_norm
from scratchformers.nn.masks import combine_masks, optional_padding_mask
from scratchformers.nn.positional import (
    ALiBi,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
)

POSITIONAL = ("sinusoidal", "learned", "rope", "alibi", "none")
NORMS = ("layernorm", "rmsnorm")


def validate_stack_config(config, positional=POSITIONAL, sizes=()) -> None:
    """The checks the encoder and the encoder-decoder configs share (same field names)."""
    validate_config(
        config,
        positive=("vocab_size", "max_positions", "num_heads", "d_model", "d_ff", *sizes),
        probabilities=("dropout",),
        choices={"positional": positional, "activation": (*ACTIVATIONS, "swiglu"), "norm": NORMS},
    )


def stack_block_spec(config, *, causal: bool = False, cross_attention: bool = False) -> BlockSpec:
    return BlockSpec(config.d_model, config.num_heads, config.d_ff, activation=config.activation, norm=config.norm,
                     norm_eps=config.norm_eps, norm_first=config.norm_first, causal=causal,
                     cross_attention=cross_attention, dropout=config.dropout)


@dataclass
class EncoderConfig:
    vocab_size: int = 1000
    max_positions: int = 512
    num_layers: int = 6
    num_heads: int = 8
    d_model: int = 512
    d_ff: int = 2048
    dropout: float = 0.1
    positional: str = "sinusoidal"  # one of POSITIONAL
    norm_first: bool = True
    activation: str = "relu"
    norm: str = "layernorm"
    norm_eps: float = 1e-5
    scale_embeddings: bool = True  # multiply token embeddings by sqrt(d_model), as in Vaswani et al.
    pad_token_id: int = 0

    def __post_init__(self):
        validate_stack_config(self, sizes=("num_layers",))


class PositionalInput(nn.Module):
    """Embeds tokens and adds the positional signal chosen by ``config.positional``.

    For "rope" and "alibi" the signal lives inside attention: see :attr:`rope` and :meth:`bias`.
    """

    def __init__(self, config):
        super().__init__()
        self.kind = config.positional
        self.scale = math.sqrt(config.d_model) if config.scale_embeddings else 1.0
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.sinusoidal = SinusoidalPositionalEncoding(config.d_model, config.max_positions) if self.kind == "sinusoidal" else None
        self.learned = LearnedPositionalEmbedding(config.max_positions, config.d_model) if self.kind == "learned" else None
        self.rope = RotaryEmbedding(config.d_model // config.num_heads) if self.kind == "rope" else None
        self.alibi = ALiBi(config.num_heads) if self.kind == "alibi" else None
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids=None, position_ids=None, *, inputs_embeds=None):
        x = self.token_embedding(input_ids) * self.scale if inputs_embeds is None else inputs_embeds  # (B, T, d)
        if self.sinusoidal is not None:
            x = self.sinusoidal(x, position_ids)
        elif self.learned is not None:
            x = x + self.learned(position_ids)
        return self.dropout(x)

    def bias(self, q_len: int, k_len: int) -> torch.Tensor | None:
        return self.alibi(q_len, k_len) if self.alibi is not None else None  # (H, Tq, Tk)


class TransformerEncoder(Model):
    config_class = EncoderConfig

    def __init__(self, config: EncoderConfig):
        super().__init__(config)
        self.input = PositionalInput(config)
        self.blocks = stack_block_spec(config).stack(config.num_layers)
        # Pre-LN leaves the residual stream un-normalised; the original Post-LN does not need this.
        self.final_norm = make_norm(config.norm, config.d_model, config.norm_eps) if config.norm_first else None
        self.init_weights("xavier")

    def forward(self, input_ids=None, attention_mask=None, *, inputs_embeds=None, need_weights=False,
                **kwargs) -> EncoderOutput:
        """input_ids (B, T) or inputs_embeds (B, T, d_model) -> last_hidden_state (B, T, d_model)."""
        reject_unknown_kwargs(self, kwargs)
        if (input_ids is None) == (inputs_embeds is None):
            raise ConfigError("pass exactly one of input_ids or inputs_embeds")
        if input_ids is not None:
            self.check_input_ids(input_ids)
            batch, length = input_ids.shape
        else:
            if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != self.config.d_model:
                raise ShapeError(f"inputs_embeds must be (batch, seq, {self.config.d_model}); got {shape_str(inputs_embeds.shape)}")
            batch, length = inputs_embeds.shape[:2]
            if length > self.max_positions:
                self.check_input_ids(torch.zeros(batch, length, dtype=torch.long))  # same clear error
        if attention_mask is not None and attention_mask.shape != (batch, length):
            raise ShapeError(
                f"attention_mask must be (batch, seq) = {shape_str((batch, length))} like the source, got "
                f"{shape_str(attention_mask.shape)}; pass decoder inputs by keyword (decoder_input_ids=...)"
            )
        position_ids = torch.arange(length, device=(input_ids if input_ids is not None else inputs_embeds).device)[None]
        x = self.input(input_ids, position_ids, inputs_embeds=inputs_embeds)
        mask = combine_masks(
            optional_padding_mask(attention_mask),
            self.input.bias(length, length),
            dtype=x.dtype,
        )
        attentions = []
        for block in self.blocks:
            x, weights = block(x, mask=mask, rope=self.input.rope, position_ids=position_ids, need_weights=need_weights)
            attentions.append(weights)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return EncoderOutput(last_hidden_state=x, attentions=tuple(attentions) if need_weights else None)
