"""GGUF: dequantisation against our own numpy decoding, the Q/K un-permutation, config from
metadata, and logits against transformers' own GGUF loader (tiny synthetic file + SmolLM2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchformers.errors import CheckpointError
from scratchformers.hub import from_pretrained, load_tokenizer_for, read_checkpoint
from scratchformers.models.llama.convert import unpermute_qk

gguf = pytest.importorskip("gguf")
from gguf.quants import dequantize  # noqa: E402

# ----- our own decoding of the block formats (ggml-quants.c), the reference for gguf.quants -----


def ref_q8_0(blocks: np.ndarray) -> np.ndarray:
    """Q8_0 block = float16 scale d, then 32 int8 q: x = d * q."""
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)  # (n, 32)
    return d * q


def ref_q4_1(blocks: np.ndarray) -> np.ndarray:
    """Q4_1 block = float16 d, float16 m, 16 bytes: low nibbles are x[0:16], high nibbles x[16:32]."""
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    m = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 4:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)  # (n, 32)
    return d * q + m


def ref_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 block = float16 d, 16 bytes of nibbles, offset 8: x = d * (q - 8)."""
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8
    return d * q


def random_blocks(rng, n: int, scales: int, payload: int) -> np.ndarray:
    """n random blocks: `scales` finite float16 values then `payload` random bytes."""
    halves = rng.uniform(-2, 2, size=(n, scales)).astype(np.float16).view(np.uint8)
    return np.concatenate([halves, rng.integers(0, 256, size=(n, payload), dtype=np.uint8)], axis=1)


@pytest.mark.parametrize(
    "kind, scales, payload, reference",
    [("Q8_0", 1, 32, ref_q8_0), ("Q4_1", 2, 16, ref_q4_1), ("Q4_0", 1, 16, ref_q4_0)],
)
def test_gguf_dequantize_matches_our_numpy_decoding(kind, scales, payload, reference):
    rng = np.random.default_rng(0)
    blocks = random_blocks(rng, 64, scales, payload)  # 64 rows of one block each
    got = dequantize(blocks, gguf.GGMLQuantizationType[kind])
    np.testing.assert_array_equal(got.reshape(64, 32), reference(blocks))


def test_q4_1_hand_computed_block():
    # d = 0.5, m = -1.0; byte j holds x[j] in the low nibble and x[j + 16] in the high nibble.
    qs = np.array([(15 << 4) | 0] + [(3 << 4) | 2] * 15, dtype=np.uint8)
    block = np.concatenate([np.array([0.5, -1.0], dtype=np.float16).view(np.uint8), qs])[None]
    values = dequantize(block, gguf.GGMLQuantizationType.Q4_1).reshape(32)
    expected = [-1.0] + [0.0] * 15 + [6.5] + [0.5] * 15  # 0*0.5-1, 2*0.5-1, 15*0.5-1, 3*0.5-1
    np.testing.assert_array_equal(values, np.array(expected, dtype=np.float32))


def test_q8_0_hand_computed_block():
    q = np.arange(-16, 16, dtype=np.int8)
    block = np.concatenate([np.array([0.25], dtype=np.float16).view(np.uint8), q.view(np.uint8)])[None]
    values = dequantize(block, gguf.GGMLQuantizationType.Q8_0).reshape(32)
    np.testing.assert_array_equal(values, q.astype(np.float32) * 0.25)


@pytest.mark.parametrize("heads", [1, 3, 9])
def test_unpermute_inverts_llama_cpp_permute(heads, llama_cpp_permute):
    w = torch.randn(heads * 64, 40)
    permuted = torch.from_numpy(llama_cpp_permute(w.numpy(), heads))
    assert not torch.equal(permuted, w)
    assert torch.equal(unpermute_qk(permuted, heads), w)


def test_read_gguf_config_and_tensors(tiny_gguf):
    path, hf = tiny_gguf
    ckpt = read_checkpoint(path)
    cfg = ckpt.config
    assert (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]) == (64, 4, 2)
    assert cfg["tie_word_embeddings"] is False and cfg["rope_theta"] == 10000.0
    assert ckpt.tensor_types["blk.0.attn_q.weight"] == "Q4_1" and ckpt.tensor_types["output.weight"] == "F16"
    assert ckpt.tensor_types["blk.0.ffn_up.weight"] == "BF16"
    ref = hf.state_dict()
    assert set(ckpt.state_dict) == set(ref)
    for name, tensor in ckpt.state_dict.items():
        assert tensor.shape == ref[name].shape, name
    # F32 norms come back exactly; Q8_0 values within half a quantisation step d = max|x| / 127 of the
    # original, plus the float16 rounding of d (at most 127 * d * 2**-11 = 0.062 d).
    assert torch.equal(ckpt.state_dict["model.norm.weight"], ref["model.norm.weight"])
    assert torch.equal(ckpt.state_dict["model.layers.1.self_attn.o_proj.weight"], ref["model.layers.1.self_attn.o_proj.weight"])
    for name, dtype in (("lm_head.weight", torch.float16), ("model.layers.0.mlp.up_proj.weight", torch.bfloat16)):
        assert torch.equal(ckpt.state_dict[name], ref[name].to(dtype).float()), name  # exact after rounding
    v = ckpt.state_dict["model.layers.1.self_attn.v_proj.weight"]
    step = ref["model.layers.1.self_attn.v_proj.weight"].abs().reshape(-1, 32).amax(1) / 127
    assert ((v - ref["model.layers.1.self_attn.v_proj.weight"]).abs().reshape(-1, 32).amax(1) <= step * 0.57).all()


def test_tiny_gguf_logits_match_transformers_gguf_loader(tiny_gguf):
    pytest.importorskip("accelerate")  # transformers needs it to read GGUF
    from transformers import LlamaForCausalLM

    path, _ = tiny_gguf
    ours = from_pretrained(path)
    ref = LlamaForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    ids = torch.randint(0, ref.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = ours(ids).logits, ref(ids).logits
    assert (a - b).abs().max().item() <= 1e-4
    assert torch.equal(a.argmax(-1), b.argmax(-1))


def test_truncated_gguf_is_a_clear_error(tiny_gguf, tmp_path):
    data = tiny_gguf[0].read_bytes()
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.gguf"):
        from_pretrained(bad)


def test_non_llama_gguf_is_refused(tmp_path):
    path = tmp_path / "bert.gguf"
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(CheckpointError, match="architecture 'bert' is not supported"):
        from_pretrained(path)


# ----- the real thing: SmolLM2-135M-Instruct Q4_1 -------------------------------------------------

PROMPT = "The capital of France is Paris. The largest planet in our solar system is"


def test_smollm2_gguf_matches_transformers(smollm2_gguf):
    """Config from metadata, tokenizer from metadata and logits, against transformers reading the
    same file. One test, so that the 135M model is dequantised once even under pytest-xdist."""
    pytest.importorskip("accelerate")  # transformers needs it to read GGUF
    from transformers import AutoTokenizer, LlamaForCausalLM

    ours = from_pretrained(smollm2_gguf)
    ref = LlamaForCausalLM.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name, dtype=torch.float32)
    ref.eval()
    c = ours.config
    assert (c.num_layers, c.d_model, c.num_heads, c.num_kv_heads, c.d_ff) == (30, 576, 9, 3, 1536)
    assert c.vocab_size == 49152 and c.tie_weights and c.rope_base == 100000.0
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters()) == 134_515_008

    tokenizer = load_tokenizer_for(smollm2_gguf)
    hf_tokenizer = AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name)
    assert tokenizer.encode(PROMPT) == hf_tokenizer(PROMPT, add_special_tokens=False).input_ids
    assert tokenizer.decode(tokenizer.encode(PROMPT)) == PROMPT

    ids = torch.tensor([tokenizer.encode(PROMPT)])
    with torch.no_grad():
        a, b = ours(ids).logits, ref(ids).logits
    assert a.shape == b.shape == (1, ids.shape[1], 49152)
    assert (a - b).abs().max().item() <= 1e-4
    assert torch.equal(a.argmax(-1), b.argmax(-1))  # next-token prediction at every position


def test_a_gguf_file_into_a_family_that_reads_no_gguf(tiny_gguf):
    from scratchformers.errors import CheckpointError
    from scratchformers.models import GPT

    path, _ = tiny_gguf
    with pytest.raises(CheckpointError, match=r"GGUF file of architecture 'llama'; the gpt2 classes read no GGUF"):
        GPT.from_pretrained(path)
