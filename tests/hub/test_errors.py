"""Broken or mismatched checkpoints and unknown hub ids give one clear CheckpointError."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

from scratchformers.errors import CheckpointError, ConfigError
from scratchformers.hub import from_pretrained
from scratchformers.models import GPT, GPTConfig

SMALL = GPTConfig(vocab_size=64, max_positions=16, num_layers=2, num_heads=2, d_model=16)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    GPT(SMALL).save_pretrained(tmp_path)
    return tmp_path


def rewrite(folder, edit):
    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})


def test_missing_unexpected_and_misshaped_tensors_in_one_error(saved):
    def edit(state):
        del state["transformer.h.1.ln_2.bias"]
        state["transformer.h.0.mlp.c_fc.weight"] = torch.zeros(16, 32)  # (16, 64) expected
        state["transformer.h.0.attn.rotary.weight"] = torch.zeros(3)

    rewrite(saved, edit)
    with pytest.raises(CheckpointError) as info:
        from_pretrained(saved)
    message = str(info.value)
    assert "3 problems" in message
    assert "missing    blocks.1.ffn_norm.bias" in message and "expected (16)" in message
    assert "mismatched blocks.0.ffn.up_proj.weight" in message and "expected (64, 16)  found (32, 16)" in message
    assert "unexpected h.0.attn.rotary.weight" in message and "found (3)" in message
    assert "strict=False" in message


def test_strict_false_warns_and_loads_what_fits(saved):
    reference = GPT.from_pretrained(saved)
    rewrite(saved, lambda state: state.pop("transformer.h.1.ln_2.bias"))
    with pytest.warns(UserWarning, match="missing    blocks.1.ffn_norm.bias"):
        model = from_pretrained(saved, strict=False)
    assert torch.equal(model.blocks[0].self_attn.q_proj.weight, reference.blocks[0].self_attn.q_proj.weight)
    assert torch.equal(model.blocks[1].ffn_norm.bias, torch.zeros(16))  # freshly initialised (LayerNorm bias 0)


def test_config_that_does_not_match_the_weights(saved):
    config = json.loads((saved / "config.json").read_text())
    config["n_embd"] = 32
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"token_embedding.weight\s+expected \(64, 32\)  found \(64, 16\)"):
        from_pretrained(saved)


def test_truncated_safetensors(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match="model.safetensors.*truncated"):
        from_pretrained(saved)


def test_corrupt_config_json(saved):
    text = (saved / "config.json").read_text()
    (saved / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match=r"config.json is not valid JSON: .* line \d+, column \d+"):
        from_pretrained(saved)


def test_folder_without_config_or_weights(tmp_path, saved):
    with pytest.raises(CheckpointError, match="has no config.json"):
        from_pretrained(tmp_path / "..")
    (saved / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="holds no weights: expected model.safetensors"):
        from_pretrained(saved)


def test_missing_shard_is_named(saved):
    index = {"weight_map": {"transformer.wte.weight": "model-00001-of-00002.safetensors",
                            "transformer.wpe.weight": "model-00002-of-00002.safetensors"}}  # fmt: skip
    (saved / "model.safetensors").rename(saved / "model-00001-of-00002.safetensors")
    (saved / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="1 are missing: model-00002-of-00002.safetensors"):
        from_pretrained(saved)


class Payload:  # a pickle that would run code when unpickled without weights_only
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickle_with_code_is_refused_and_truncated_bin(saved, capsys):
    (saved / "model.safetensors").unlink()
    with open(saved / "pytorch_model.bin", "wb") as f:
        pickle.dump({"transformer.wte.weight": Payload()}, f)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        from_pretrained(saved)
    assert "this must never run" not in capsys.readouterr().out
    torch.save({"transformer.wte.weight": torch.zeros(64, 16)}, saved / "pytorch_model.bin")
    data = (saved / "pytorch_model.bin").read_bytes()
    (saved / "pytorch_model.bin").write_bytes(data[:200])
    with pytest.raises(CheckpointError, match="pytorch_model.bin"):
        from_pretrained(saved)


def test_unknown_model_type_and_architecture(saved):
    config = json.loads((saved / "config.json").read_text())
    (saved / "config.json").write_text(json.dumps({**config, "architectures": ["GPT2ForQuestionAnswering"]}))
    with pytest.raises(CheckpointError, match="GPT2ForQuestionAnswering.*Pass model_class="):
        from_pretrained(saved)
    (saved / "config.json").write_text(json.dumps({**config, "model_type": "t5"}))
    with pytest.raises(CheckpointError, match="model_type='t5'"):
        from_pretrained(saved)


def test_wrong_model_class_and_unknown_override(saved):
    from scratchformers.models import BertModel

    with pytest.raises(CheckpointError, match="gpt2 checkpoint; it cannot be loaded into BertModel"):
        BertModel.from_pretrained(saved)
    with pytest.raises(ConfigError, match="unknown config override"):
        from_pretrained(saved, n_layers=3)
    assert from_pretrained(saved, dropout=0.25).config.dropout == 0.25


def test_hub_id_not_cached_offline_says_how_to_use_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    with pytest.raises(CheckpointError) as info:
        from_pretrained("gpt2")
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message and "not in the local Hugging Face cache" in message
    assert str(tmp_path / "hf_home") in message
    assert "from_pretrained('/path/to/gpt2')" in message


def test_hub_id_found_in_the_local_cache(tmp_path, monkeypatch):
    """A snapshot laid out as huggingface_hub caches it is found without any network access."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    repo = tmp_path / "hub" / "models--someone--tiny-gpt"
    commit = "0123456789abcdef0123456789abcdef01234567"
    torch.manual_seed(0)
    model = GPT(SMALL)
    model.save_pretrained(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    loaded = from_pretrained("someone/tiny-gpt")
    assert torch.equal(loaded.token_embedding.weight, model.token_embedding.weight)


def test_path_that_is_neither_folder_nor_hub_id():
    with pytest.raises(CheckpointError, match="does not exist"):
        from_pretrained("/no/such/dir/model.safetensors")
