"""Hostile or broken checkpoints fail before anything big is built (issue 16, "Loading").

- a config.json whose sizes exceed the tensors (100000 layers, a 10^12-token vocabulary) is
  refused before a real model exists (only a shapes-only ``meta`` model may be built);
- integer weights are refused instead of being cast silently, unless asked for;
- a shard index may only name files inside its folder.
"""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from scratchformers.errors import CheckpointError
from scratchformers.hub import from_pretrained
from scratchformers.models import GPT, GPTConfig

SMALL = GPTConfig(vocab_size=64, max_positions=16, num_layers=2, num_heads=2, d_model=16)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    GPT(SMALL).save_pretrained(tmp_path / "ckpt")
    return tmp_path / "ckpt"


@pytest.fixture
def builds(monkeypatch):
    """The default device of every GPT construction (``meta`` = shapes only, no memory)."""
    devices = []
    original = GPT.__init__

    def spy(self, config):
        devices.append(torch.get_default_device().type)
        original(self, config)

    monkeypatch.setattr(GPT, "__init__", spy)
    return devices


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def test_config_with_100000_layers_fails_before_building(saved, builds):
    edit_config(saved, n_layer=100000)
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"num_layers=100000 but the checkpoint .* holds 2 layers"):
        from_pretrained(saved)
    assert time.perf_counter() - start < 5.0
    assert builds == []  # not even a shapes-only model


@pytest.mark.parametrize("strict", [True, False])
def test_vocabulary_of_10_to_the_12_fails_without_allocating(saved, builds, strict):
    edit_config(saved, vocab_size=10**12)
    with pytest.raises(CheckpointError, match=r"token_embedding.weight\s+expected \(1000000000000, 16\)  found \(64, 16\)"):
        from_pretrained(saved, strict=strict)
    assert builds == ["meta"]  # the comparison ran on a model without memory; no real one was built


def test_strict_false_may_load_a_smaller_model_than_the_tensors(saved):
    reference = from_pretrained(saved)
    with pytest.warns(UserWarning, match="unexpected blocks.1"):
        model = from_pretrained(saved, strict=False, num_layers=1)
    assert len(model.blocks) == 1
    assert torch.equal(model.blocks[0].ffn.up_proj.weight, reference.blocks[0].ffn.up_proj.weight)


def test_integer_weights_are_refused_unless_asked(saved):
    state = load_file(saved / "model.safetensors")
    state["transformer.wte.weight"] = torch.arange(64 * 16, dtype=torch.int32).reshape(64, 16)
    save_file(state, saved / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"non-float .*token_embedding.weight \(int32\).*allow_non_float_weights=True"):
        from_pretrained(saved)
    model = from_pretrained(saved, allow_non_float_weights=True)
    assert torch.equal(model.token_embedding.weight, torch.arange(64 * 16, dtype=torch.float32).reshape(64, 16))


def shard(folder, weight_map: dict):
    """Replace model.safetensors by an index that maps every tensor as ``weight_map`` says."""
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    index = {"metadata": {}, "weight_map": {name: weight_map.get(name, "part.safetensors") for name in state}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return state


@pytest.mark.parametrize("name", ["../outside.safetensors", "sub/../../outside.safetensors", "/tmp/outside.safetensors"])
def test_shard_index_entries_outside_the_folder_are_refused(saved, name):
    state = shard(saved, {})
    save_file(state, saved.parent / "outside.safetensors")
    index = json.loads((saved / "model.safetensors.index.json").read_text())
    index["weight_map"]["transformer.wte.weight"] = name
    (saved / "model.safetensors.index.json").write_text(json.dumps(index))
    save_file(state, saved / "part.safetensors")
    with pytest.raises(CheckpointError, match=r"outside the checkpoint folder"):
        from_pretrained(saved)


def test_shards_that_are_symlinks_elsewhere_still_load(saved, tmp_path):
    """The Hugging Face cache keeps every snapshot file as a symlink into a shared blob folder."""
    reference = from_pretrained(saved)
    state = shard(saved, {})
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    save_file(state, blobs / "abc123")
    (saved / "part.safetensors").symlink_to(blobs / "abc123")
    model = from_pretrained(saved)
    assert torch.equal(model.token_embedding.weight, reference.token_embedding.weight)


def test_classes_without_a_hugging_face_counterpart_say_what_to_call(saved, tmp_path):
    from scratchformers.models import EncoderConfig, Model, TransformerEncoder

    with pytest.raises(CheckpointError, match=r"Model has no Hugging Face counterpart.*scratchformers.from_pretrained\(path\)"):
        Model.from_pretrained(saved)
    encoder = TransformerEncoder(EncoderConfig(vocab_size=8, max_positions=4, num_layers=1, num_heads=1, d_model=4))
    with pytest.raises(CheckpointError, match="TransformerEncoder has no Hugging Face counterpart to save as"):
        encoder.save_pretrained(tmp_path / "encoder")
