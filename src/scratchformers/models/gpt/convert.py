"""GPT-2: Hugging Face ``GPT2LMHeadModel`` / ``GPT2Model`` <-> our :class:`~scratchformers.models.gpt.GPT`.

Two things differ beyond names:

- GPT-2 stores its four projections as ``Conv1D`` weights of shape (in, out), the transpose of
  ``nn.Linear``'s (out, in); we transpose ``c_attn``, ``attn.c_proj``, ``mlp.c_fc`` and
  ``mlp.c_proj``.
- ``c_attn`` is Q, K and V fused into one (d, 3d) matrix; we split it into our three projections.

Checkpoints saved from ``GPT2LMHeadModel`` prefix the body with ``transformer.``; ``GPT2Model``
does not; both load. The LM head is tied to the token embedding unless the config says otherwise.
"""

from __future__ import annotations

import torch

from scratchformers.checkpoints.naming import drop, fix_legacy_norm_names, invert, rename, strip_prefix
from scratchformers.errors import ConfigError

MODEL_TYPE = "gpt2"
GGUF_ARCHITECTURES: tuple[str, ...] = ()  # GPT-2 GGUF files are not read
# HF ``architectures`` entries -> the name of the class we build for them (in models.gpt)
ARCHITECTURES = {"GPT2LMHeadModel": "GPT", "GPT2Model": "GPT"}
HEAD_PREFIXES = ("lm_head.",)  # our names of task-head tensors

# HF activation names -> ours, and back (gelu_new and gelu_pytorch_tanh are the same tanh GELU).
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}
ACTIVATIONS_TO_HF = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}

# HF name (without "transformer.") -> ours; the fused/transposed tensors are handled in code.
NAMES = [
    ("wte.weight", "token_embedding.weight"),
    ("wpe.weight", "position_embedding.weight"),
    ("h.{i}.ln_1.{p}", "blocks.{i}.attn_norm.{p}"),
    ("h.{i}.attn.c_proj.{p}", "blocks.{i}.self_attn.out_proj.{p}"),
    ("h.{i}.ln_2.{p}", "blocks.{i}.ffn_norm.{p}"),
    ("h.{i}.mlp.c_fc.{p}", "blocks.{i}.ffn.up_proj.{p}"),
    ("h.{i}.mlp.c_proj.{p}", "blocks.{i}.ffn.down_proj.{p}"),
    ("ln_f.{p}", "final_norm.{p}"),
    ("lm_head.weight", "lm_head.weight"),
]
CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


def hf_architecture(model_class: type) -> str:
    return "GPT2LMHeadModel"


def config_from_hf(hf: dict, model_class: type):
    act = hf.get("activation_function", "gelu_new")
    if act not in ACTIVATIONS:
        raise ConfigError(f"GPT-2 activation_function={act!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
    for flag, supported in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                            ("reorder_and_upcast_attn", False), ("add_cross_attention", False)):
        if hf.get(flag, supported) != supported:
            raise ConfigError(f"GPT-2 config {flag}={hf[flag]!r} is not supported by scratchformers (needs {supported})")
    return model_class.config_class(
        vocab_size=hf.get("vocab_size", 50257),
        max_positions=hf.get("n_positions", 1024),
        num_layers=hf.get("n_layer", 12),
        num_heads=hf.get("n_head", 12),
        d_model=hf.get("n_embd", 768),
        d_ff=hf.get("n_inner") or 4 * hf.get("n_embd", 768),
        dropout=hf.get("resid_pdrop", 0.1),
        norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        tie_weights=hf.get("tie_word_embeddings", True),
        activation=ACTIVATIONS[act],
        init_std=hf.get("initializer_range", 0.02),
    )


def config_to_hf(config, model_class: type) -> dict:
    if not config.bias:
        raise ConfigError("GPT with bias=False has no Hugging Face GPT-2 equivalent (GPT-2 always has biases)")
    if config.activation not in ACTIVATIONS_TO_HF:
        raise ConfigError(f"GPT activation {config.activation!r} has no GPT-2 equivalent")
    return {
        "model_type": MODEL_TYPE,
        "vocab_size": config.vocab_size,
        "n_positions": config.max_positions,
        "n_embd": config.d_model,
        "n_layer": config.num_layers,
        "n_head": config.num_heads,
        "n_inner": config.d_ff,
        "activation_function": ACTIVATIONS_TO_HF[config.activation],
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.norm_eps,
        "initializer_range": config.init_std,
        "tie_word_embeddings": config.tie_weights,
        "scale_attn_weights": True,
        # GPT-2's <|endoftext|> when the vocabulary has it (transformers' default 50256 otherwise
        # points outside a small vocabulary).
        "bos_token_id": 50256 if config.vocab_size > 50256 else None,
        "eos_token_id": 50256 if config.vocab_size > 50256 else None,
    }


def state_from_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = fix_legacy_norm_names(strip_prefix(state, "transformer."))
    # attn.bias / attn.masked_bias are causal-mask buffers that older checkpoints saved.
    state = drop(state, "h.{i}.attn.bias", "h.{i}.attn.masked_bias")
    state = {k: (v.t() if k.endswith(CONV1D) else v) for k, v in state.items()}  # (in, out) -> (out, in)
    out = {}
    for name, tensor in state.items():
        if name.endswith(".attn.c_attn.weight") or name.endswith(".attn.c_attn.bias"):
            layer, kind = name.split(".")[1], name.rsplit(".", 1)[1]
            q, k, v = tensor.chunk(3, dim=0)  # (3d, ...) -> 3 x (d, ...)
            for proj, part in zip(("q_proj", "k_proj", "v_proj"), (q, k, v)):
                out[f"blocks.{layer}.self_attn.{proj}.{kind}"] = part
        else:
            out[name] = tensor
    return rename(out, NAMES)


def state_to_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = dict(state)
    if config.tie_weights:
        state.pop("lm_head.weight", None)  # HF re-ties it from wte
    for layer in range(config.num_layers):
        for kind in ("weight", "bias"):
            parts = [state.pop(f"blocks.{layer}.self_attn.{p}.{kind}") for p in ("q_proj", "k_proj", "v_proj")]
            state[f"h.{layer}.attn.c_attn.{kind}"] = torch.cat(parts, dim=0)  # 3 x (d, ...) -> (3d, ...)
    state = rename(state, invert(NAMES))
    state = {k: (v.t() if k.endswith(CONV1D) else v) for k, v in state.items()}  # (out, in) -> (in, out)
    return {(k if k == "lm_head.weight" else "transformer." + k): v for k, v in state.items()}
