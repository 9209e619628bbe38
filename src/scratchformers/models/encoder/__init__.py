"""A generic Transformer encoder (configurable norms and positions), also the encoder-decoder's encoder."""

from scratchformers.models.encoder.model import EncoderConfig, PositionalInput, TransformerEncoder

__all__ = ["EncoderConfig", "PositionalInput", "TransformerEncoder"]
