"""GGUF files (llama.cpp) -> a Hugging Face style config dict and state dict.

A GGUF file holds metadata (architecture, sizes, the tokenizer) and tensors, most of them
quantised in blocks of 32 values. We read it with the ``gguf`` package, dequantise with
``gguf.quants.dequantize`` (checked against our own numpy decoding in the tests), rename the
tensors to the Hugging Face Llama names and undo the one real trap: llama.cpp's converter
permutes the rows of the Q and K projections (from the "half-split" RoPE layout that Hugging Face
uses to the interleaved pairs that llama.cpp rotates), so we permute them back.

The result feeds the same path as a Hugging Face folder (``convert_llama``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from scratchformers.errors import CheckpointError

# Tensor types we decode and have verified; anything else is refused with a clear message.
SUPPORTED_TYPES = ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q8_0")

# llama.cpp tensor names -> Hugging Face Llama names ("{i}" is the layer index).
LLAMA_NAMES = {
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


@dataclass
class GGUFCheckpoint:
    """A GGUF file turned into what a Hugging Face folder would hold."""

    path: Path
    metadata: dict  # every key/value field, decoded to Python values
    config: dict  # Hugging Face style config.json contents
    state_dict: dict[str, torch.Tensor]  # Hugging Face names, float32
    tensor_types: dict[str, str]  # GGUF name -> quantisation type name (for `inspect`)


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


def read_metadata(reader) -> dict:
    """The key/value fields of a ``gguf.GGUFReader`` as plain Python values."""
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            meta[key] = field.contents()
        except Exception:  # a field type this gguf version cannot decode: skip rather than fail
            continue
    return meta


def _open(path: Path):
    try:
        import gguf
    except ImportError as err:  # pragma: no cover - the dev extras install it
        raise CheckpointError("reading GGUF files needs the `gguf` package: pip install gguf") from err
    try:
        return gguf.GGUFReader(str(path))
    except Exception as err:  # truncated files fail inside numpy memmap / struct parsing
        raise CheckpointError(
            f"cannot read {path} as GGUF: {err}. The file is probably truncated or not a GGUF file."
        ) from err


def dequantize(tensor) -> np.ndarray:
    """A ``gguf`` ReaderTensor as a float32 array in PyTorch layout (rows = output features)."""
    from gguf.quants import dequantize as gguf_dequantize

    kind = tensor.tensor_type.name
    if kind not in SUPPORTED_TYPES:
        raise CheckpointError(
            f"tensor {tensor.name} is stored as {kind}; supported GGUF types are "
            f"{', '.join(SUPPORTED_TYPES)}. Re-export the model with one of them (llama.cpp "
            "`llama-quantize ... Q8_0`), or convert the original Hugging Face folder instead."
        )
    values = np.asarray(gguf_dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
    if not values.flags.writeable:  # F32 tensors come back as views of the read-only memory map
        values = values.copy()
    # GGUF shapes list the fastest dimension first; PyTorch's is the reverse.
    return values.reshape(tuple(int(n) for n in reversed(tensor.shape)))


def llama_config(meta: dict, tensor_names: set[str]) -> dict:
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
        target = LLAMA_NAMES.get(pattern)
        return target.format(i=parts[1]) if target else None
    return LLAMA_NAMES.get(gguf_name)


def read_gguf(path: str | Path, *, progress: bool = False) -> GGUFCheckpoint:
    """Read, dequantise and rename every tensor of a Llama-family GGUF file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"GGUF file {path} does not exist")
    reader = _open(path)
    meta = read_metadata(reader)
    names = {t.name for t in reader.tensors}
    config = llama_config(meta, names)
    state, types = {}, {}
    for tensor in tqdm(reader.tensors, desc=f"dequantising {path.name}", disable=not progress):
        name = hf_name(tensor.name)
        if name is None:
            raise CheckpointError(
                f"GGUF tensor {tensor.name} has no Llama counterpart; is this a Llama-family file?"
            )
        types[tensor.name] = tensor.tensor_type.name
        weight = torch.from_numpy(dequantize(tensor))
        if tensor.name.endswith("attn_q.weight"):
            weight = unpermute_qk(weight, config["num_attention_heads"])
        elif tensor.name.endswith("attn_k.weight"):
            weight = unpermute_qk(weight, config["num_key_value_heads"])
        state[name] = weight
    return GGUFCheckpoint(path=path, metadata=meta, config=config, state_dict=state, tensor_types=types)


def read_gguf_summary(path: str | Path) -> tuple[dict, list[tuple[str, str, tuple]]]:
    """Metadata and (name, type, PyTorch shape) of every tensor, without dequantising (for `inspect`)."""
    reader = _open(Path(path))
    tensors = [(t.name, t.tensor_type.name, tuple(int(n) for n in reversed(t.shape))) for t in reader.tensors]
    return read_metadata(reader), tensors
