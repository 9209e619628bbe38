"""Fixtures for the checkpoint tests: tiny random Hugging Face models and a tiny GGUF writer.

Nothing here touches the network: every test runs with ``HF_HUB_OFFLINE=1`` and loads local
folders only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def llama_cpp_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf.py ``LlamaModel.permute``, copied as the reference."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


# A tiny byte-level vocabulary: the 256 byte symbols, a few merges, one control token.
def tiny_tokenizer_metadata():
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    byte_tokens = list(bytes_to_unicode().values())
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
    tokens = ["<|endoftext|>", *byte_tokens, *(m.replace(" ", "") for m in merges)]
    types = [3] + [1] * (len(tokens) - 1)  # 3 = control (special), 1 = normal
    return tokens, types, merges


def write_tiny_llama_gguf(path, hf_model, qtypes: dict[str, str] | None = None, default: str = "F32"):
    """Write ``hf_model`` (a transformers LlamaForCausalLM) as a llama.cpp-style GGUF file.

    Tensors get llama.cpp names, Q/K rows permuted as llama.cpp does, and are quantised with
    ``gguf.quants.quantize`` to ``qtypes[gguf_name]`` (default ``default``).
    """
    import gguf
    from gguf.quants import quantize

    cfg = hf_model.config
    qtypes = qtypes or {}
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_vocab_size(cfg.vocab_size)
    tokens, types, merges = tiny_tokenizer_metadata()
    assert len(tokens) == cfg.vocab_size
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)

    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}  # fmt: skip
    layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}  # fmt: skip
    state = hf_model.state_dict()
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight")
    for hf_name, tensor in state.items():
        if hf_name in names:
            name = names[hf_name]
        else:
            _, _, i, *rest = hf_name.split(".")
            name = f"blk.{i}.{layer['.'.join(rest[:-1])]}.weight"
        data = tensor.detach().float().numpy()
        if name.endswith("attn_q.weight"):
            data = llama_cpp_permute(data, cfg.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            data = llama_cpp_permute(data, cfg.num_key_value_heads)
        kind = gguf.GGMLQuantizationType[qtypes.get(name, default if data.ndim == 2 else "F32")]
        if kind == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(name, data.astype(np.float16))
        elif kind == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, quantize(data, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_hf_llama(*, tie: bool, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    tokens, _, _ = tiny_tokenizer_metadata()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokens), hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=tie,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, bos_token_id=0, eos_token_id=0, pad_token_id=0,
        initializer_range=0.2,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # non-trivial norm weights, so a mix-up of norms cannot go unnoticed
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


@pytest.fixture(name="llama_cpp_permute")
def _llama_cpp_permute():
    return llama_cpp_permute


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory):
    """(path to a tiny Q8_0/Q4_1/Q4_0/F16/BF16/F32 Llama GGUF with untied head, the HF model it came from)."""
    hf = tiny_hf_llama(tie=False)
    qtypes = {"token_embd.weight": "Q8_0", "output.weight": "F16", "blk.0.attn_q.weight": "Q4_1",
              "blk.0.attn_k.weight": "Q4_0", "blk.1.attn_q.weight": "Q8_0", "blk.1.attn_k.weight": "Q4_1",
              "blk.0.ffn_up.weight": "BF16", "blk.1.attn_output.weight": "F32"}  # fmt: skip
    path = tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf"
    return write_tiny_llama_gguf(path, hf, qtypes, default="Q8_0"), hf
