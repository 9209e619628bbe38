"""Llama family: Hugging Face ``LlamaForCausalLM`` / ``LlamaModel`` <-> our Llama classes.

Names are nearly one to one (``model.layers.{i}.self_attn.o_proj`` -> ``blocks.{i}.self_attn.out_proj``);
both use the half-split RoPE layout, so no permutation is needed here (GGUF files need one, done
in :mod:`scratchformers.checkpoints.gguf`). The head is tied or not as ``tie_word_embeddings`` says.
"""

from __future__ import annotations

import torch

from scratchformers.checkpoints.files import Checkpoint
from scratchformers.checkpoints.gguf import GGUFFile
from scratchformers.checkpoints.naming import drop, invert, rename, strip_prefix
from scratchformers.errors import CheckpointError, ConfigError

MODEL_TYPE = "llama"
GGUF_ARCHITECTURES = ("llama",)  # general.architecture values read by from_gguf
# HF ``architectures`` entries -> the name of the class we build for them (in models.llama)
ARCHITECTURES = {"LlamaForCausalLM": "LlamaForCausalLM", "LlamaModel": "LlamaModel"}
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
    heads = hf.get("num_attention_heads", 32)
    d_model = hf.get("hidden_size", 4096)
    for key, supported in (("attention_bias", False), ("mlp_bias", False), ("hidden_act", "silu")):
        if hf.get(key, supported) != supported:
            raise ConfigError(f"Llama config {key}={hf[key]!r} is not supported by scratchformers (needs {supported!r})")
    config = model_class.config_class(  # validates types, ranges and head counts first
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


# ----- GGUF (llama.cpp) ---------------------------------------------------------------------
# llama.cpp tensor names -> Hugging Face Llama names ("{i}" is the layer index).
GGUF_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
    "blk.{i}.attn_norm.weight": "model.layers.{i}.input_layernorm.weight",
    "blk.{i}.attn_q.weight": "model.layers.{i}.self_attn.q_proj.weight",
    "blk.{i}.attn_k.weight": "model.layers.{i}.self_attn.k_proj.weight",
    "blk.{i}.attn_v.weight": "model.layers.{i}.self_attn.v_proj.weight",
    "blk.{i}.attn_output.weight": "model.layers.{i}.self_attn.o_proj.weight",
    "blk.{i}.ffn_norm.weight": "model.layers.{i}.post_attention_layernorm.weight",
    "blk.{i}.ffn_gate.weight": "model.layers.{i}.mlp.gate_proj.weight",
    "blk.{i}.ffn_up.weight": "model.layers.{i}.mlp.up_proj.weight",
    "blk.{i}.ffn_down.weight": "model.layers.{i}.mlp.down_proj.weight",
}




def unpermute_qk(weight: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Undo llama.cpp's row permutation of a Q or K projection weight (out_features, in_features).

    llama.cpp's converter does, per head, rows [x0..x(h/2-1), y0..y(h/2-1)] -> [x0, y0, x1, y1, ...]
    (``reshape(heads, 2, h/2, in).swapaxes(1, 2)``); we do the inverse reshape. For K use the
    number of key/value heads.
    """
    out_features = weight.shape[0]
    head_dim = out_features // num_heads
    # (out, in) -> (heads, head_dim/2, 2, in): rows of a head are interleaved (x, y) pairs
    w = weight.reshape(num_heads, head_dim // 2, 2, *weight.shape[1:])
    # -> (heads, 2, head_dim/2, in): all x rows, then all y rows (the half-split layout)
    return w.transpose(1, 2).reshape(weight.shape)




def config_from_gguf(meta: dict, tensor_names: set[str]) -> dict:
    """A Hugging Face ``LlamaConfig`` dict from the ``llama.*`` metadata of a GGUF file."""
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise CheckpointError(
            f"GGUF architecture {arch!r} is not supported; scratchformers reads Llama-family GGUF files "
            "(general.architecture = 'llama', e.g. Llama, SmolLM, TinyLlama)."
        )

    def need(key):
        if f"llama.{key}" not in meta:
            raise CheckpointError(f"GGUF metadata lacks llama.{key}; the file is incomplete")
        return meta[f"llama.{key}"]

    num_heads = int(need("attention.head_count"))
    hidden = int(need("embedding_length"))
    vocab = meta.get("llama.vocab_size") or len(meta.get("tokenizer.ggml.tokens", ()))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": int(vocab),
        "hidden_size": hidden,
        "intermediate_size": int(need("feed_forward_length")),
        "num_hidden_layers": int(need("block_count")),
        "num_attention_heads": num_heads,
        "num_key_value_heads": int(meta.get("llama.attention.head_count_kv", num_heads)),
        "head_dim": int(meta.get("llama.attention.key_length", hidden // num_heads)),
        "max_position_embeddings": int(meta.get("llama.context_length", 2048)),
        "rms_norm_eps": float(meta.get("llama.attention.layer_norm_rms_epsilon", 1e-6)),
        "rope_theta": float(meta.get("llama.rope.freq_base", 10000.0)),
        "tie_word_embeddings": "output.weight" not in tensor_names,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
    }
    for key in ("bos", "eos", "padding"):
        if f"tokenizer.ggml.{key}_token_id" in meta:
            config[f"{key.replace('padding', 'pad')}_token_id"] = int(meta[f"tokenizer.ggml.{key}_token_id"])
    if "llama.rope.scaling.type" in meta or "rope_freqs.weight" in tensor_names:
        raise CheckpointError(
            "this GGUF uses RoPE scaling (Llama 3.1 style rope_freqs), which scratchformers does not "
            "implement; use a model without rope scaling."
        )
    return config


def hf_name(gguf_name: str) -> str | None:
    """The Hugging Face name of a llama.cpp tensor name (None when unknown)."""
    parts = gguf_name.split(".")
    if parts[0] == "blk" and len(parts) > 2 and parts[1].isdigit():
        pattern = "blk.{i}." + ".".join(parts[2:])
        target = GGUF_NAMES.get(pattern)
        return target.format(i=parts[1]) if target else None
    return GGUF_NAMES.get(gguf_name)


def from_gguf(gguf: GGUFFile, *, progress: bool = False) -> Checkpoint:
    """A Llama-family GGUF file in Hugging Face form: config dict, HF tensor names, Q/K un-permuted."""
    config = config_from_gguf(gguf.metadata, gguf.tensor_names)
    state, types = {}, {}
    for name, kind, weight in gguf.tensors(progress=progress):
        target = hf_name(name)
        if target is None:
            raise CheckpointError(f"GGUF tensor {name} has no Llama counterpart; is this a Llama-family file?")
        types[name] = kind
        if name.endswith("attn_q.weight"):
            weight = unpermute_qk(weight, config["num_attention_heads"])
        elif name.endswith("attn_k.weight"):
            weight = unpermute_qk(weight, config["num_key_value_heads"])
        state[target] = weight
    return Checkpoint(path=gguf.path, config=config, state_dict=state, tensor_types=types)
