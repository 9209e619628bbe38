"""What models return: small dataclasses with named fields (``out.logits``, ``out.loss``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class CausalLMOutput:
    logits: torch.Tensor  # (B, T, vocab) or (B, logits_to_keep, vocab)
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per layer (B, H, Tq, Tk)
    last_hidden_state: torch.Tensor | None = None


@dataclass
class EncoderOutput:
    last_hidden_state: torch.Tensor  # (B, T, d_model)
    pooler_output: torch.Tensor | None = None  # (B, d_model)
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass
class MaskedLMOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass
class SequenceClassifierOutput:
    logits: torch.Tensor  # (B, num_labels)
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass
class Seq2SeqOutput:
    logits: torch.Tensor  # (B, T_dec, vocab)
    loss: torch.Tensor | None = None
    encoder_last_hidden_state: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
