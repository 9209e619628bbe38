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
from scratchformers.hub.mixin import PretrainedMixin
from scratchformers.nn.layers import LayerNorm, RMSNorm
from scratchformers.utils import tracing  # adds save_pretrained / from_pretrained


def check_config(config, **rules) -> None:
    """Validate config values: rules map a field name to (predicate, requirement text)."""
    for name, (ok, requirement) in rules.items():
        value = getattr(config, name)
        if not ok(value):
            raise ConfigError(f"{type(config).__name__}.{name}={value!r} is invalid: {requirement}")


def check_heads(config) -> None:
    if config.d_model % config.num_heads:
        raise ConfigError(
            f"{type(config).__name__}: d_model={config.d_model} is not divisible by num_heads="
            f"{config.num_heads}. Each head gets d_model / num_heads dims; choose num_heads among the "
            f"divisors of {config.d_model}."
        )


class Model(PretrainedMixin, nn.Module):
    """Base class of the scratchformers models. Subclasses set ``config_class``."""

    config_class: type = None  # the dataclass this model is built from

    def __init__(self, config):
        super().__init__()
        if not dataclasses.is_dataclass(config):
            raise ConfigError(f"{type(self).__name__} expects a {self.config_class.__name__}, got {type(config).__name__}")
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


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the vocabulary; target -100 is ignored (padding, unmasked MLM tokens)."""
    if targets.shape != logits.shape[:-1]:
        raise ShapeError(
            f"targets shape {shape_str(targets.shape)} does not match logits {shape_str(logits.shape[:-1])} "
            "(batch, seq_len). For causal LM pass the next tokens (inputs shifted by one)."
        )
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100)
