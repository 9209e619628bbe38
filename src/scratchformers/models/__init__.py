"""Models built from :mod:`scratchformers.nn`: GPT, Llama, BERT, a generic encoder, encoder-decoder."""

from scratchformers.models.base import Model
from scratchformers.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel
from scratchformers.models.blocks import BlockSpec
from scratchformers.models.decoder import DecoderLM
from scratchformers.models.encoder import EncoderConfig, TransformerEncoder
from scratchformers.models.encoder_decoder import EncoderDecoder, EncoderDecoderConfig
from scratchformers.models.gpt import GPT, GPTConfig
from scratchformers.models.llama import LlamaConfig, LlamaForCausalLM, LlamaModel
from scratchformers.models.outputs import (
    CausalLMOutput,
    EncoderOutput,
    MaskedLMOutput,
    Seq2SeqOutput,
    SequenceClassifierOutput,
)

__all__ = [
    "BertConfig",
    "BertForMaskedLM",
    "BertForSequenceClassification",
    "BertModel",
    "BlockSpec",
    "CausalLMOutput",
    "DecoderLM",
    "EncoderConfig",
    "EncoderDecoder",
    "EncoderDecoderConfig",
    "EncoderOutput",
    "GPT",
    "GPTConfig",
    "LlamaConfig",
    "LlamaForCausalLM",
    "LlamaModel",
    "MaskedLMOutput",
    "Model",
    "Seq2SeqOutput",
    "SequenceClassifierOutput",
    "TransformerEncoder",
]
