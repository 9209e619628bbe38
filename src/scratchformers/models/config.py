"""Config validation shared by every model config, and the memory check before a model is built.

Each config dataclass calls :func:`validate_config` from its ``__post_init__``, so a bad value is
refused when the config is made (``GPTConfig(...)``, ``dataclasses.replace``, a config.json read by
the hub), before any tensor is allocated. The checks:

- types, read from the field annotations: ``bool`` accepts only True/False (the string ``"false"``
  is refused, not read as True), ``int`` only integers (not 2.5, not ``"12"``, not a bool),
  ``float`` any real number (not a bool or a string), ``str`` only strings; ``X | None`` allows None;
- ranges: sizes > 0, dropout probabilities in [0, 1), ``norm_eps`` finite and > 0, choices;
- divisibility: ``d_model`` by ``num_heads`` (each head gets d_model / num_heads dims) and
  ``num_heads`` by ``num_kv_heads`` (each KV head serves num_heads / num_kv_heads query heads).

Shared fields carry one name across configs: ``d_model``, ``num_heads``, ``num_kv_heads``,
``num_layers``, ``d_ff``, ``dropout``, ``norm_eps`` (GPT-2's ``layer_norm_epsilon``, BERT's
``layer_norm_eps`` and Llama's ``rms_norm_eps`` all become ``norm_eps``; the hub maps the names).
"""

from __future__ import annotations

import dataclasses
import math
import os

from scratchformers.errors import ConfigError

BYTES_PER_PARAMETER = 4  # float32, the dtype models are built in


_CHECKED_KINDS = {"None", "bool", "int", "float", "str"}


def _type_ok(value, annotation: str) -> bool:
    """Whether ``value`` fits a field annotation written as text (``"int"``, ``"float | None"``).

    Annotations beyond these scalar kinds (a subclass's ``list[int]``) are not checked here.
    """
    kinds = [part.strip() for part in annotation.split("|")]
    if not set(kinds) <= _CHECKED_KINDS:
        return True
    for kind in kinds:
        if kind == "None" and value is None:
            return True
        if kind == "bool" and isinstance(value, bool):
            return True
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if kind == "str" and isinstance(value, str):
            return True
    return False


def _fail(config, name: str, expected: str, fix: str) -> None:
    value = getattr(config, name)
    raise ConfigError(f"{type(config).__name__}.{name}={value!r} is invalid: expected {expected}; {fix}")


def _check_types(config) -> None:
    for field in dataclasses.fields(config):
        annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
        value = getattr(config, field.name)
        if not _type_ok(value, annotation):
            hint = " (JSON true/false without quotes)" if "bool" in annotation else ""
            _fail(config, field.name, f"{annotation}{hint}, got {type(value).__name__}",
                  f"set {field.name} to a value of type {annotation}")


def _check_heads(config) -> None:
    d_model, heads = config.d_model, config.num_heads
    if d_model % heads:
        divisors = [h for h in range(1, min(d_model, 64) + 1) if d_model % h == 0]
        _fail(config, "num_heads", f"a divisor of d_model={d_model} (each head gets d_model / num_heads dims)",
              f"choose num_heads among {divisors}")
    kv_heads = getattr(config, "num_kv_heads", None)
    if kv_heads is not None and heads % kv_heads:
        divisors = [h for h in range(1, heads + 1) if heads % h == 0]
        _fail(config, "num_kv_heads", f"a divisor of num_heads={heads} (query heads share KV heads in equal groups)",
              f"choose num_kv_heads among {divisors}")


def validate_config(config, *, positive=(), probabilities=(), choices=None) -> None:
    """Refuse a config with a wrong type, an out-of-range value or heads that do not divide.

    ``positive``: fields that must be > 0 (None allowed where the annotation allows it);
    ``probabilities``: fields in [0, 1); ``choices``: field -> allowed values. Every config also
    gets its ``norm_eps`` checked (finite, > 0) and its head counts (see the module docstring).
    """
    _check_types(config)
    for name in positive:
        value = getattr(config, name)
        if value is not None and not value > 0:
            _fail(config, name, "a value > 0", f"set {name} to a positive number")
    for name in probabilities:
        value = getattr(config, name)
        if value is not None and not 0.0 <= value < 1.0:
            _fail(config, name, "a probability in [0, 1)", f"use e.g. {name}=0.1, or 0.0 to turn it off")
    eps = getattr(config, "norm_eps", None)
    if eps is not None and not (math.isfinite(eps) and eps > 0):
        _fail(config, "norm_eps", "a finite value > 0 (it keeps the normalisation from dividing by zero)",
              "use 1e-5 (LayerNorm) or 1e-6 (RMSNorm)")
    for name, allowed in (choices or {}).items():
        if getattr(config, name) not in allowed:
            _fail(config, name, f"one of {sorted(allowed)}", f"pick one of {sorted(allowed)}")
    _check_heads(config)


def estimate_parameters(config) -> int:
    """An upper-bound parameter count read from the config alone (no tensor is built).

    Embeddings (token, position, an untied head, an output bias) + per layer 4 d^2 for attention
    (cross-attention adds 4 d^2) + 3 d d_ff for the feed-forward (the SwiGLU count, above the
    2 d d_ff of a plain MLP) + biases and norms, + 2 d^2 for a pooler or an MLM transform.
    """
    d, d_ff, vocab = config.d_model, config.d_ff, config.vocab_size
    layers = getattr(config, "num_layers", 0)
    cross_layers = getattr(config, "num_decoder_layers", 0)
    per_layer = 4 * d * d + 3 * d * d_ff + 2 * d_ff + 9 * d
    embeddings = (vocab + config.max_positions) * d * (1 if getattr(config, "tie_weights", True) else 2) + vocab
    return embeddings + layers * per_layer + cross_layers * (4 * d * d + 6 * d) + 2 * d * d + 6 * d


def physical_memory_bytes() -> int | None:
    """Total RAM of the machine (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(config) -> None:
    """Refuse, before allocating anything, a config whose float32 weights exceed the machine's RAM."""
    needed = estimate_parameters(config) * BYTES_PER_PARAMETER
    available = physical_memory_bytes()
    if available is not None and needed > available:
        raise ConfigError(
            f"{type(config).__name__} describes ~{needed / 2**30:,.1f} GiB of float32 weights (vocab_size="
            f"{config.vocab_size}, d_model={config.d_model}, num_layers={getattr(config, 'num_layers', '?')}), "
            f"more than this machine's {available / 2**30:,.1f} GiB of memory; check these sizes (a typo in "
            "config.json?) or use a smaller model"
        )
