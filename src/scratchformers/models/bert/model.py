"""BERT: learned positions + token types, Post-LN encoder blocks, pooler, MLM and classifier heads.

Shapes and names follow the original so real checkpoints (BERT, MiniLM) load one-to-one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.errors import ConfigError, ShapeError, shape_str
from scratchformers.models.base import Model, reject_unknown_kwargs, token_loss
from scratchformers.models.bert import convert
from scratchformers.models.blocks import BlockSpec
from scratchformers.models.config import validate_config
from scratchformers.models.outputs import EncoderOutput, MaskedLMOutput, SequenceClassifierOutput
from scratchformers.nn.layers import ACTIVATIONS, LayerNorm
from scratchformers.nn.masks import optional_padding_mask
from scratchformers.utils import tracing


@dataclass
class BertConfig:
    vocab_size: int = 30522
    max_positions: int = 512
    num_layers: int = 12
    num_heads: int = 12
    d_model: int = 768
    d_ff: int = 3072
    type_vocab_size: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.1
    norm_eps: float = 1e-12
    activation: str = "gelu"
    pad_token_id: int = 0
    num_labels: int = 2
    pooling: str = "cls"  # classifier input: "cls" (pooler over [CLS]) or "mean" (masked mean)
    classifier_dropout: float | None = None  # None = dropout
    init_std: float = 0.02

    def __post_init__(self):
        validate_config(
            self,
            positive=("vocab_size", "max_positions", "num_layers", "num_heads", "d_model", "d_ff", "type_vocab_size",
                      "num_labels", "init_std"),
            probabilities=("dropout", "attention_dropout", "classifier_dropout"),
            choices={"activation": tuple(ACTIVATIONS), "pooling": ("cls", "mean")},
        )
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"BertConfig.pad_token_id={self.pad_token_id} is invalid: expected an id in "
                              f"[0, vocab_size={self.vocab_size}); set it to the tokenizer's [PAD] id")

    def block_spec(self) -> BlockSpec:
        return BlockSpec(self.d_model, self.num_heads, self.d_ff, activation=self.activation, norm_eps=self.norm_eps,
                         norm_first=False, dropout=self.dropout, attention_dropout=self.attention_dropout)  # Post-LN


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Average of the token vectors, padding excluded: (B, T, d) -> (B, d)."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    weights = attention_mask.to(hidden.dtype)[..., None]  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.position_embedding = nn.Embedding(config.max_positions, config.d_model)
        self.token_type_embedding = nn.Embedding(config.type_vocab_size, config.d_model)
        self.norm = LayerNorm(config.d_model, config.norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids, position_ids):
        x = self.token_embedding(input_ids) + self.position_embedding(position_ids) + self.token_type_embedding(token_type_ids)
        return self.dropout(self.norm(x))  # (B, T, d)


class BertModel(Model):
    config_class = BertConfig
    conversion = convert  # Hugging Face / GGUF names and config of this class

    def __init__(self, config: BertConfig, *, with_pooler: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.blocks = config.block_spec().stack(config.num_layers)
        self.pooler = nn.Linear(config.d_model, config.d_model) if with_pooler else None
        self.init_weights("normal", config.init_std)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, *, need_weights=False,
                **kwargs):
        """input_ids (B, T) -> last_hidden_state (B, T, d), pooler_output tanh(W h_[CLS]) (B, d)."""
        reject_unknown_kwargs(self, kwargs)
        self.check_input_ids(input_ids)
        batch, length = input_ids.shape
        for name, tensor in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if tensor is not None and tensor.shape != input_ids.shape:
                raise ShapeError(f"{name} shape {shape_str(tensor.shape)} must equal input_ids shape {shape_str(input_ids.shape)}")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        elif not tracing() and (int(token_type_ids.max()) >= self.config.type_vocab_size or int(token_type_ids.min()) < 0):
            raise ConfigError(f"token_type_ids must be in [0, {self.config.type_vocab_size}); got max {int(token_type_ids.max())}")
        if position_ids is None:
            position_ids = torch.arange(length, device=input_ids.device)[None]  # (1, T)
        mask = optional_padding_mask(attention_mask)  # (B, 1, 1, T) or None
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        attentions = []
        for block in self.blocks:
            x, weights = block(x, mask=mask, need_weights=need_weights)
            attentions.append(weights)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None
        return EncoderOutput(last_hidden_state=x, pooler_output=pooled, attentions=tuple(attentions) if need_weights else None)


class BertForMaskedLM(Model):
    """BERT + the MLM head (dense -> GELU -> LayerNorm -> decoder tied to the word embeddings)."""

    config_class = BertConfig
    conversion = convert  # Hugging Face / GGUF names and config of this class

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, with_pooler=False)
        self.mlm_transform = nn.Linear(config.d_model, config.d_model)
        self.mlm_norm = LayerNorm(config.d_model, config.norm_eps)
        self.mlm_decoder = nn.Linear(config.d_model, config.vocab_size)
        self.init_weights("normal", config.init_std)
        self.mlm_decoder.weight = self.bert.embeddings.token_embedding.weight

    def forward(self, input_ids, attention_mask=None, labels=None, *, token_type_ids=None, position_ids=None,
                need_weights=False, **kwargs):
        """``labels`` (B, T): original ids at masked positions, -100 elsewhere (no shift)."""
        reject_unknown_kwargs(self, kwargs)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, need_weights=need_weights)
        h = self.mlm_norm(ACTIVATIONS[self.config.activation](self.mlm_transform(out.last_hidden_state)))
        logits = self.mlm_decoder(h)  # (B, T, vocab)
        loss = token_loss(logits, labels) if labels is not None else None
        return MaskedLMOutput(logits=logits, loss=loss, attentions=out.attentions)


class BertForSequenceClassification(Model):
    """BERT + dropout + a linear classifier over the pooled [CLS] vector (or the mean of tokens)."""

    config_class = BertConfig
    conversion = convert  # Hugging Face / GGUF names and config of this class

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, with_pooler=True)
        drop = config.dropout if config.classifier_dropout is None else config.classifier_dropout
        self.dropout = nn.Dropout(drop)
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        self.init_weights("normal", config.init_std)

    def forward(self, input_ids, attention_mask=None, labels=None, *, token_type_ids=None, position_ids=None,
                need_weights=False, **kwargs):
        """``labels`` (B,): the class of each sequence."""
        reject_unknown_kwargs(self, kwargs)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, need_weights=need_weights)
        if self.config.pooling == "cls":
            pooled = out.pooler_output
        else:
            pooled = mean_pool(out.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))  # (B, num_labels)
        loss = None
        if labels is not None:
            if labels.shape != logits.shape[:1]:
                raise ShapeError(f"labels must be (batch,) = {shape_str(logits.shape[:1])}, got {shape_str(labels.shape)}")
            if not tracing() and (int(labels.max()) >= self.config.num_labels or int(labels.min()) < 0):
                raise ConfigError(
                    f"labels must be in [0, num_labels={self.config.num_labels}); got {sorted(set(labels.tolist()))}. "
                    "Set BertConfig.num_labels to the number of classes."
                )
            loss = F.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(logits=logits, loss=loss, attentions=out.attentions)
