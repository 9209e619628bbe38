"""The original encoder-decoder Transformer (Vaswani et al., 2017)."""

from scratchformers.models.encoder_decoder.model import EncoderDecoder, EncoderDecoderConfig

__all__ = ["EncoderDecoder", "EncoderDecoderConfig"]
