"""GPT-2 and Llama: random-init transformers models <-> ours, every file layout, both directions."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from scratchformers.hub import from_pretrained, save_pretrained
from scratchformers.models import GPT, GPTConfig, LlamaConfig, LlamaForCausalLM, LlamaModel

transformers = pytest.importorskip("transformers")


def tiny_hf_gpt2(cls_name: str = "GPT2LMHeadModel", seed: int = 0, **extra):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=150, n_positions=48, n_embd=48, n_layer=2, n_head=4, initializer_range=0.2,
        bos_token_id=0, eos_token_id=0, **extra,
    )  # fmt: skip
    return getattr(transformers, cls_name)(config).eval()


def ids(vocab: int, shape=(2, 14)):
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(3))


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ----- GPT-2 ------------------------------------------------------------------------------------


def test_hf_gpt2_loads_with_matching_logits(tmp_path):
    hf = tiny_hf_gpt2()
    hf.save_pretrained(tmp_path)
    ours = from_pretrained(tmp_path)
    assert type(ours) is GPT and ours.lm_head.weight is ours.token_embedding.weight
    x = ids(150)
    with torch.no_grad():
        assert (ours(x).logits - hf(x).logits).abs().max().item() <= 1e-4


def test_our_gpt_opens_in_transformers_with_identical_logits(tmp_path):
    hf = tiny_hf_gpt2()
    hf.save_pretrained(tmp_path / "hf")
    GPT.from_pretrained(tmp_path / "hf").save_pretrained(tmp_path / "ours")
    back = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "ours").eval()
    assert type(back).__name__ == "GPT2LMHeadModel"
    x = ids(150)
    with torch.no_grad():
        assert torch.equal(back(x).logits, hf(x).logits)


def test_gpt_round_trip_ours_hf_ours_is_exact(tmp_path):
    torch.manual_seed(0)
    ours = GPT(GPTConfig(vocab_size=77, max_positions=32, num_layers=2, num_heads=2, d_model=32))
    save_pretrained(ours, tmp_path / "a")
    transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "a").save_pretrained(tmp_path / "b")
    again = from_pretrained(tmp_path / "b")
    assert again.config == ours.config and same_weights(ours, again)


def test_gpt2_conv1d_weights_are_transposed_and_qkv_split(tmp_path):
    hf = tiny_hf_gpt2()
    hf.save_pretrained(tmp_path)
    ours = from_pretrained(tmp_path)
    c_attn = hf.transformer.h[1].attn.c_attn.weight  # Conv1D: (in, 3 * out)
    q, k, v = c_attn.t().split(48, dim=0)
    attn = ours.blocks[1].self_attn
    assert torch.equal(attn.q_proj.weight, q) and torch.equal(attn.k_proj.weight, k) and torch.equal(attn.v_proj.weight, v)
    assert torch.equal(ours.blocks[1].ffn.up_proj.weight, hf.transformer.h[1].mlp.c_fc.weight.t())


def test_gpt2_body_without_prefix_and_legacy_mask_buffers(tmp_path):
    hf = tiny_hf_gpt2("GPT2Model")  # saved without the "transformer." prefix
    hf.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    assert not any(k.startswith("transformer.") for k in state)
    state["h.0.attn.bias"] = torch.tril(torch.ones(48, 48))[None, None]  # old checkpoints saved these
    state["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(state, tmp_path / "pytorch_model.bin")
    (tmp_path / "model.safetensors").unlink()
    ours = from_pretrained(tmp_path)  # pytorch_model.bin, read with weights_only=True
    x = ids(150)
    with torch.no_grad():
        hidden = ours(x).last_hidden_state
        assert (hidden - hf(x).last_hidden_state).abs().max().item() <= 1e-4


def test_sharded_safetensors_checkpoint(tmp_path):
    hf = tiny_hf_gpt2()
    hf.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file() and not (tmp_path / "model.safetensors").exists()
    ours = from_pretrained(tmp_path)
    x = ids(150)
    with torch.no_grad():
        assert (ours(x).logits - hf(x).logits).abs().max().item() <= 1e-4


def test_untied_gpt2_head(tmp_path):
    hf = tiny_hf_gpt2(tie_word_embeddings=False)
    hf.save_pretrained(tmp_path)
    ours = from_pretrained(tmp_path)
    assert ours.lm_head.weight is not ours.token_embedding.weight
    x = ids(150)
    with torch.no_grad():
        assert (ours(x).logits - hf(x).logits).abs().max().item() <= 1e-4


# ----- Llama ------------------------------------------------------------------------------------


def tiny_hf_llama(tie: bool, seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=130, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=tie,
        rope_parameters={"rope_type": "default", "rope_theta": 5000.0}, initializer_range=0.2,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
    )  # fmt: skip
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("tie", [True, False])
def test_hf_llama_loads_with_matching_logits(tmp_path, tie):
    hf = tiny_hf_llama(tie)
    hf.save_pretrained(tmp_path)
    ours = from_pretrained(tmp_path)
    assert type(ours) is LlamaForCausalLM and ours.config.num_kv_heads == 2 and ours.config.rope_base == 5000.0
    assert (ours.lm_head.weight is ours.token_embedding.weight) == tie
    x = ids(130)
    with torch.no_grad():
        a, b = ours(x).logits, hf(x).logits
    assert (a - b).abs().max().item() <= 1e-4


def test_our_llama_opens_in_transformers_and_round_trips(tmp_path):
    torch.manual_seed(0)
    ours = LlamaForCausalLM(LlamaConfig(vocab_size=70, max_positions=32, num_layers=2, num_heads=4, num_kv_heads=1,
                                        d_model=32, d_ff=48, rope_base=500.0))  # fmt: skip
    ours.save_pretrained(tmp_path / "a")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "a").eval()
    x = ids(70)
    with torch.no_grad():
        assert (ours(x).logits - hf(x).logits).abs().max().item() <= 1e-4
    hf.save_pretrained(tmp_path / "b")
    again = from_pretrained(tmp_path / "b")
    assert again.config == ours.config and same_weights(ours, again)


def test_llama_body_from_a_causal_lm_checkpoint(tmp_path):
    hf = tiny_hf_llama(tie=False)
    hf.save_pretrained(tmp_path)
    body = LlamaModel.from_pretrained(tmp_path)  # the LM head is dropped
    x = ids(130)
    with torch.no_grad():
        diff = body(x).last_hidden_state - hf.model(x).last_hidden_state
    assert diff.abs().max().item() <= 1e-4


def test_user_subclass_loads_and_saves(tmp_path):
    class MyGPT(GPT):
        def generate_nothing(self):
            return None

    hf = tiny_hf_gpt2()
    hf.save_pretrained(tmp_path / "hf")
    mine = MyGPT.from_pretrained(tmp_path / "hf")
    assert type(mine) is MyGPT
    mine.save_pretrained(tmp_path / "mine")
    back = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "mine").eval()
    x = ids(150)
    with torch.no_grad():
        assert torch.equal(back(x).logits, hf(x).logits)
