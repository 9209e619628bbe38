"""Llama family: Hugging Face ``LlamaForCausalLM`` / ``LlamaModel`` <-> our Llama classes.

Names are nearly one to one (``model.layers.{i}.self_attn.o_proj`` -> ``blocks.{i}.self_attn.out_proj``);
both use the half-split RoPE layout, so no permutation is needed here (GGUF files need one, done
in :mod:`scratchformers.hub.gguf`). The head is tied or not as ``tie_word_embeddings`` says.
"""

from __future__ import annotations

import torch

from scratchformers.errors import ConfigError
from scratchformers.hub.naming import drop, invert, rename, strip_prefix

MODEL_TYPE = "llama"
HEAD_PREFIXES = ("lm_head.",)  # our names of task-head tensors

NAMES = [
    ("embed_tokens.weight", "token_embedding.weight"),
    ("layers.{i}.input_layernorm.weight", "blocks.{i}.attn_norm.weight"),
    ("layers.{i}.self_attn.q_proj.weight", "blocks.{i}.self_attn.q_proj.weight"),
    ("layers.{i}.self_attn.k_proj.weight", "blocks.{i}.self_attn.k_proj.weight"),
    ("layers.{i}.self_attn.v_proj.weight", "blocks.{i}.self_attn.v_proj.weight"),
    ("layers.{i}.self_attn.o_proj.weight", "blocks.{i}.self_attn.out_proj.weight"),
    ("layers.{i}.post_attention_layernorm.weight", "blocks.{i}.ffn_norm.weight"),
    ("layers.{i}.mlp.gate_proj.weight", "blocks.{i}.ffn.gate_proj.weight"),
    ("layers.{i}.mlp.up_proj.weight", "blocks.{i}.ffn.up_proj.weight"),
    ("layers.{i}.mlp.down_proj.weight", "blocks.{i}.ffn.down_proj.weight"),
    ("norm.weight", "final_norm.weight"),
    ("lm_head.weight", "lm_head.weight"),
]


def architectures() -> dict[str, type]:
    from scratchformers.models.llama import LlamaForCausalLM, LlamaModel

    return {"LlamaForCausalLM": LlamaForCausalLM, "LlamaModel": LlamaModel}


def hf_architecture(model_class: type) -> str:
    return "LlamaModel" if model_class.__name__ == "LlamaModel" else "LlamaForCausalLM"


def _rope_theta(hf: dict) -> float:
    params = hf.get("rope_parameters") or {}
    scaling = hf.get("rope_scaling") or {}
    kind = params.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
    if kind != "default":
        raise ConfigError(
            f"Llama rope type {kind!r} (RoPE scaling) is not implemented in scratchformers; only plain RoPE is"
        )
    return float(params.get("rope_theta", hf.get("rope_theta", 10000.0)))


def config_from_hf(hf: dict, model_class: type):
    from scratchformers.models.llama import LlamaConfig

    heads = hf.get("num_attention_heads", 32)
    d_model = hf.get("hidden_size", 4096)
    for key, supported in (("attention_bias", False), ("mlp_bias", False), ("hidden_act", "silu")):
        if hf.get(key, supported) != supported:
            raise ConfigError(f"Llama config {key}={hf[key]!r} is not supported by scratchformers (needs {supported!r})")
    config = LlamaConfig(  # validates types, ranges and head counts first
        vocab_size=hf.get("vocab_size", 32000),
        max_positions=hf.get("max_position_embeddings", 2048),
        num_layers=hf.get("num_hidden_layers", 32),
        num_heads=heads,
        num_kv_heads=hf.get("num_key_value_heads") or heads,
        d_model=d_model,
        d_ff=hf.get("intermediate_size", 11008),
        norm_eps=hf.get("rms_norm_eps", 1e-6),
        rope_base=_rope_theta(hf),
        tie_weights=hf.get("tie_word_embeddings", False),
        dropout=hf.get("attention_dropout", 0.0),
        init_std=hf.get("initializer_range", 0.02),
    )
    head_dim = hf.get("head_dim")
    if head_dim is not None and head_dim * heads != d_model:
        raise ConfigError(
            f"Llama config head_dim={head_dim} * num_attention_heads={heads} != hidden_size={d_model}; "
            "scratchformers' Llama derives head_dim = hidden_size / num_attention_heads"
        )
    return config


def config_to_hf(config, model_class: type) -> dict:
    return {
        "model_type": MODEL_TYPE,
        "vocab_size": config.vocab_size,
        "max_position_embeddings": config.max_positions,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "num_key_value_heads": config.num_kv_heads,
        "hidden_size": config.d_model,
        "head_dim": config.d_model // config.num_heads,
        "intermediate_size": config.d_ff,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_base,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_base},
        "tie_word_embeddings": config.tie_weights,
        "attention_dropout": config.dropout,
        "initializer_range": config.init_std,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
    }


def state_from_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = strip_prefix(state, "model.")
    state = drop(state, "layers.{i}.self_attn.rotary_emb.inv_freq", "rotary_emb.inv_freq")
    return rename(state, NAMES)


def state_to_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = dict(state)
    if config.tie_weights:
        state.pop("lm_head.weight", None)
    state = rename(state, invert(NAMES))
    if model_class.__name__ == "LlamaModel":
        return state  # HF LlamaModel has no "model." prefix
    return {(k if k == "lm_head.weight" else "model." + k): v for k, v in state.items()}
