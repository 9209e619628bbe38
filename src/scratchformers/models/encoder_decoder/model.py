"""The original transformer: an encoder, and a causal decoder that cross-attends to it.

Training call (teacher forcing, as Hugging Face's seq2seq models): ``model(source_ids, attention_mask,
labels=target_ids)``. ``labels`` (B, Tt) are the target tokens (-100 = ignore); the decoder reads
them shifted right behind the start token, ``decoder_input_ids = [bos_token_id] + labels[:, :-1]``
(-100 read as pad_token_id), and position t is scored on labels[t].
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from scratchformers.errors import ConfigError, ShapeError, shape_str
from scratchformers.generation.mixin import EncoderDecoderGenerationMixin
from scratchformers.models.base import Model, reject_unknown_kwargs, token_loss
from scratchformers.models.encoder.model import (
    EncoderConfig,
    PositionalInput,
    TransformerEncoder,
    stack_block_spec,
    validate_stack_config,
)
from scratchformers.models.outputs import Seq2SeqOutput
from scratchformers.nn.kv_cache import DecoderCache, KVCache
from scratchformers.nn.layers import make_norm
from scratchformers.nn.masks import optional_padding_mask


def shift_right(labels: torch.Tensor, start_id: int, pad_id: int) -> torch.Tensor:
    """Decoder inputs from labels: (B, T) -> [start] + labels[:, :-1], with -100 replaced by pad_id."""
    shifted = labels.new_full(labels.shape, start_id)
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill(shifted == -100, pad_id)


@dataclass
class EncoderDecoderConfig:
    vocab_size: int = 1000  # shared by source and target
    max_positions: int = 512
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    num_heads: int = 8
    d_model: int = 256
    d_ff: int = 1024
    dropout: float = 0.1
    positional: str = "sinusoidal"  # sinusoidal | learned
    norm_first: bool = True
    activation: str = "relu"
    norm: str = "layernorm"
    norm_eps: float = 1e-5
    scale_embeddings: bool = True
    pad_token_id: int = 0
    bos_token_id: int = 1  # also the decoder start token
    eos_token_id: int = 2

    def __post_init__(self):
        validate_stack_config(self, positional=("sinusoidal", "learned"),
                              sizes=("num_encoder_layers", "num_decoder_layers"))
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ConfigError(f"EncoderDecoderConfig.{name}={getattr(self, name)} is invalid: expected an id in "
                                  f"[0, vocab_size={self.vocab_size}); set it to the tokenizer's id")

    @property
    def num_layers(self) -> int:  # used by init and the doctor
        return self.num_encoder_layers + self.num_decoder_layers

    def encoder_config(self) -> EncoderConfig:
        shared = {f.name for f in fields(EncoderConfig)} & {f.name for f in fields(self)}
        return EncoderConfig(num_layers=self.num_encoder_layers, **{k: getattr(self, k) for k in shared})


class EncoderDecoder(EncoderDecoderGenerationMixin, Model):
    config_class = EncoderDecoderConfig

    def __init__(self, config: EncoderDecoderConfig):
        super().__init__(config)
        self.encoder = TransformerEncoder(config.encoder_config())
        self.decoder_input = PositionalInput(config.encoder_config())
        self.decoder_blocks = stack_block_spec(config, causal=True, cross_attention=True).stack(config.num_decoder_layers)
        self.decoder_norm = make_norm(config.norm, config.d_model, config.norm_eps) if config.norm_first else None
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.init_weights("xavier")
        # One vocabulary: the decoder reads and writes the encoder's embedding table.
        self.decoder_input.token_embedding = self.encoder.input.token_embedding
        self.lm_head.weight = self.encoder.input.token_embedding.weight

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Source ids (B, Ts) -> memory (B, Ts, d_model)."""
        return self.encoder(input_ids, attention_mask).last_hidden_state

    def new_cache(self, batch_size: int, max_len: int | None = None, *, dtype=None, device=None) -> DecoderCache:
        max_len = self.max_positions if max_len is None else max_len
        attn = self.decoder_blocks[0].self_attn
        layers = [
            KVCache(batch_size, attn.num_kv_heads, max_len, attn.head_dim, dtype=dtype or self.dtype, device=device or self.device)
            for _ in self.decoder_blocks
        ]
        return DecoderCache(layers, cross=[None] * len(self.decoder_blocks))

    def _cross_cache(self, cache: DecoderCache | None, i: int, memory: torch.Tensor) -> KVCache | None:
        if cache is None:
            return None
        if cache.cross[i] is None:  # projected once per generation, on the first decode step
            attn = self.decoder_blocks[i].cross_attn
            cache.cross[i] = KVCache(
                memory.shape[0], attn.num_kv_heads, memory.shape[1], attn.head_dim, dtype=memory.dtype, device=memory.device, static=True
            )
        return cache.cross[i]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        *,
        encoder_out: torch.Tensor | None = None,
        cache: DecoderCache | None = None,
        need_weights: bool = False,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> Seq2SeqOutput:
        """Source ``input_ids`` (B, Ts) + ``attention_mask`` -> decoder logits (B, Tt, vocab).

        ``labels`` (B, Tt): the target (-100 = ignore); without ``decoder_input_ids`` the decoder
        reads the labels shifted right behind ``bos_token_id``. ``encoder_out`` (B, Ts, d) skips the
        encoder (generation encodes once); ``attention_mask`` still masks the source padding.
        """
        reject_unknown_kwargs(self, kwargs)
        if decoder_input_ids is None:
            if labels is None:
                raise ConfigError("EncoderDecoder needs labels= (the target, shifted right inside) or decoder_input_ids= "
                                  "(starting with bos_token_id)")
            decoder_input_ids = shift_right(labels, self.config.bos_token_id, self.config.pad_token_id)
        if encoder_out is None:
            if input_ids is None:
                raise ConfigError("pass input_ids (source tokens) or a precomputed encoder_out")
            encoder_out = self.encode(input_ids, attention_mask)
        if encoder_out.shape[0] != decoder_input_ids.shape[0]:
            raise ShapeError(
                f"encoder output batch {encoder_out.shape[0]} != decoder_input_ids batch {decoder_input_ids.shape[0]} "
                f"({shape_str(encoder_out.shape)} vs {shape_str(decoder_input_ids.shape)})"
            )
        past = cache.length if cache is not None else 0
        self.check_input_ids(decoder_input_ids, past_length=past, name="decoder_input_ids")
        q_len = decoder_input_ids.shape[1]
        position_ids = torch.arange(past, past + q_len, device=decoder_input_ids.device)[None]  # (1, Tq)
        x = self.decoder_input(decoder_input_ids, position_ids)
        self_mask = optional_padding_mask(decoder_attention_mask)  # (B, 1, 1, T_past + Tq) or None
        context_mask = optional_padding_mask(attention_mask)  # (B, 1, 1, Ts) or None
        attentions = []
        for i, block in enumerate(self.decoder_blocks):
            x, weights = block(
                x,
                encoder_out,
                mask=self_mask,
                context_mask=context_mask,
                kv_cache=cache.layers[i] if cache is not None else None,
                cross_kv_cache=self._cross_cache(cache, i, encoder_out),
                need_weights=need_weights,
            )
            attentions.append(weights)
        if self.decoder_norm is not None:
            x = self.decoder_norm(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        logits = self.lm_head(x)  # (B, Tq, vocab)
        loss = token_loss(logits, labels) if labels is not None else None
        return Seq2SeqOutput(
            logits=logits,
            loss=loss,
            encoder_last_hidden_state=encoder_out,
            attentions=tuple(attentions) if need_weights else None,
        )
