"""What every model shares: config handling, input validation, weight init, parameter count."""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from scratchformers.errors import (
    ConfigError,
    DTypeError,
    SequenceTooLongError,
    ShapeError,
    VocabRangeError,
    shape_str,
)
from scratchformers.models.config import check_fits_in_memory
from scratchformers.models.pretrained import PretrainedMixin
from scratchformers.nn.layers import LayerNorm, RMSNorm
from scratchformers.utils import tracing  # adds save_pretrained / from_pretrained


def reject_unknown_kwargs(model, kwargs: dict) -> None:
    """The one call contract's guard: the old ``targets=`` gets a message that explains the change."""
    if "targets" in kwargs:
        raise ConfigError(
            f"{type(model).__name__}(targets=...) was replaced by labels=: pass the unshifted ids (labels=input_ids "
            "for a causal LM, -100 = ignore); the model shifts them inside (logits[:, :-1] vs labels[:, 1:]), "
            "whereas the old targets were the pre-shifted next tokens (targets=ids[:, 1:] becomes labels=ids)"
        )
    if kwargs:
        raise TypeError(f"{type(model).__name__}.forward() got unexpected keyword argument(s) {sorted(kwargs)}")


class Model(PretrainedMixin, nn.Module):
    """Base class of the scratchformers models. Subclasses set ``config_class``."""

    config_class: type = None  # the dataclass this model is built from

    def __init__(self, config):
        super().__init__()
        if not dataclasses.is_dataclass(config):
            raise ConfigError(f"{type(self).__name__} expects a {self.config_class.__name__}, got {type(config).__name__}")
        if torch.get_default_device().type != "meta":  # a shapes-only model allocates nothing
            check_fits_in_memory(config)  # before a single tensor is allocated
        self.config = config

    @property
    def max_positions(self) -> int:
        return self.config.max_positions

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, *, trainable_only: bool = False, exclude_embeddings: bool = False) -> int:
        """Parameter count (shared/tied tensors counted once)."""
        seen, total = set(), 0
        for module in self.modules():
            for p in module.parameters(recurse=False):
                if id(p) in seen or (trainable_only and not p.requires_grad):
                    continue
                if exclude_embeddings and isinstance(module, nn.Embedding):
                    continue
                seen.add(id(p))
                total += p.numel()
        return total

    def check_input_ids(self, input_ids: torch.Tensor, *, past_length: int = 0, name: str = "input_ids") -> None:
        """Clear errors for the classic input mistakes, before PyTorch's IndexError would fire."""
        if not isinstance(input_ids, torch.Tensor):
            raise DTypeError(f"{name} must be a torch.Tensor of token ids, got {type(input_ids).__name__}")
        if input_ids.numel() == 0 and input_ids.dtype.is_floating_point:  # torch.tensor([[]]): an empty text
            raise ShapeError(f"{name} is empty {shape_str(input_ids.shape)}: the text encoded to no tokens; "
                             "give at least one token")
        if input_ids.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
            raise DTypeError(
                f"{name} has dtype {input_ids.dtype}; token ids must be integers (torch.long). "
                "If these are embeddings, pass them to the blocks directly."
            )
        if input_ids.dim() != 2:
            raise ShapeError(
                f"{name} must be (batch, seq_len), got {shape_str(input_ids.shape)}. "
                "For one sequence use input_ids[None] (unsqueeze(0))."
            )
        length = past_length + input_ids.shape[1]
        if length > self.max_positions:
            raise SequenceTooLongError(
                f"{name} has {input_ids.shape[1]} tokens (+{past_length} cached) = {length}, more than "
                f"the model's max_positions={self.max_positions}. Without this check PyTorch raises "
                f"'IndexError: index out of range in self'. Truncate to {self.max_positions} tokens "
                f"(tokenizer truncation=True, max_length={self.max_positions})."
            )
        if input_ids.numel() and not tracing():
            low, high = (int(v) for v in torch.aminmax(input_ids))
            vocab = self.config.vocab_size
            if low < 0 or high >= vocab:
                raise VocabRangeError(
                    f"{name} contains ids outside [0, {vocab}): min={low}, max={high}. The tokenizer "
                    f"and the model disagree on the vocabulary (model vocab_size={vocab}); use the "
                    "tokenizer that belongs to this model or resize the embeddings."
                )

    # ----- weight initialisation -------------------------------------------------------------
    def init_weights(self, scheme: str = "normal", std: float = 0.02) -> None:
        """Re-initialise all weights.

        ``"normal"``: N(0, std) for Linear/Embedding (GPT-2, BERT), with GPT-2's residual
        projections (attention ``out_proj``, FFN ``down_proj``) scaled by 1/sqrt(2 * num_layers).
        ``"xavier"``: xavier-uniform for every matrix (the original transformer).
        Norm weights 1, biases 0, either way.
        """
        if scheme not in ("normal", "xavier"):
            raise ConfigError(f"init scheme must be 'normal' or 'xavier', got {scheme!r}")
        residual_std = std / math.sqrt(2 * getattr(self.config, "num_layers", 1))
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                if scheme == "xavier":
                    nn.init.xavier_uniform_(module.weight)
                elif name.endswith(("out_proj", "down_proj")) and getattr(self, "scaled_residual_init", False):
                    nn.init.normal_(module.weight, 0.0, residual_std)
                else:
                    nn.init.normal_(module.weight, 0.0, std)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
                if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                    with torch.no_grad():
                        module.weight[module.padding_idx].zero_()
            elif isinstance(module, (LayerNorm, RMSNorm, nn.LayerNorm)):
                nn.init.ones_(module.weight)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each position against its own label (MLM); -100 is ignored.

    logits (B, T, vocab), labels (B, T) -> mean over the labelled positions.
    """
    if labels.shape != logits.shape[:-1]:
        raise ShapeError(
            f"labels shape {shape_str(labels.shape)} does not match logits {shape_str(logits.shape[:-1])} "
            "(batch, seq_len): give one label per input token (-100 where there is nothing to predict)."
        )
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts labels[t + 1] (the Hugging Face convention).

    ``labels`` are the unshifted ids (usually ``input_ids``), -100 ignored; the shift happens here:
    loss = CE(logits[:, :-1], labels[:, 1:]).
    """
    if labels.shape != logits.shape[:-1]:
        raise ShapeError(
            f"labels shape {shape_str(labels.shape)} does not match logits {shape_str(logits.shape[:-1])} "
            "(batch, seq_len): pass labels=input_ids (unshifted; the model shifts them), without logits_to_keep."
        )
    return token_loss(logits[:, :-1], labels[:, 1:])
