"""Config validation: every config refuses wrong types, ranges and head counts when it is made,
with one line naming the field, the value, what is expected and the fix; and a model too large for
the machine is refused before a tensor is allocated."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
import torch

import scratchformers as sf
from scratchformers.errors import ConfigError
from scratchformers.models.config import estimate_parameters, physical_memory_bytes

SMALL = {
    sf.GPTConfig: dict(vocab_size=50, max_positions=16, num_layers=1, num_heads=2, d_model=16),
    sf.LlamaConfig: dict(vocab_size=50, max_positions=16, num_layers=1, num_heads=2, d_model=16, d_ff=32),
    sf.BertConfig: dict(vocab_size=50, max_positions=16, num_layers=1, num_heads=2, d_model=16, d_ff=32),
    sf.EncoderConfig: dict(vocab_size=50, max_positions=16, num_layers=1, num_heads=2, d_model=16, d_ff=32),
    sf.EncoderDecoderConfig: dict(vocab_size=50, max_positions=16, num_heads=2, d_model=16, d_ff=32),
}
CONFIGS = list(SMALL)


def _refused(cls, field: str, value, pattern: str) -> str:
    with pytest.raises(ConfigError, match=pattern) as info:
        cls(**{**SMALL[cls], field: value})
    message = str(info.value)
    assert "\n" not in message and f"{cls.__name__}.{field}={value!r}" in message
    return message


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_config_names_the_shared_fields_alike(cls):
    names = {f.name for f in dataclasses.fields(cls)}
    assert {"vocab_size", "max_positions", "num_heads", "d_model", "d_ff", "dropout", "norm_eps"} <= names
    assert not names & {"layer_norm_eps", "rms_norm_eps", "layer_norm_epsilon"}


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_wrong_types_are_refused(cls):
    _refused(cls, "num_heads", 2.5, "expected int")
    _refused(cls, "d_model", "16", "expected int")
    _refused(cls, "vocab_size", True, "expected int")  # bool is not an int
    _refused(cls, "dropout", "0.1", "expected float")
    for bool_field in (f.name for f in dataclasses.fields(cls) if f.type == "bool"):
        _refused(cls, bool_field, "false", r"expected bool \(JSON true/false without quotes\)")
        _refused(cls, bool_field, 1, r"expected bool")


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("eps", [float("nan"), float("inf"), -1.0, 0.0])
def test_norm_eps_must_be_finite_and_positive(cls, eps):
    message = _refused(cls, "norm_eps", eps, "norm_eps=.* expected a finite value > 0")
    assert "1e-5" in message  # the fix


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_sizes_and_dropout_ranges(cls):
    _refused(cls, "d_model", 0, "expected a value > 0")
    _refused(cls, "vocab_size", -3, "expected a value > 0")
    _refused(cls, "dropout", 1.0, r"expected a probability in \[0, 1\)")
    _refused(cls, "dropout", -0.1, r"expected a probability in \[0, 1\)")
    _refused(cls, "num_heads", 3, r"expected a divisor of d_model=16.*choose num_heads among \[1, 2, 4, 8, 16\]")


def test_grouped_kv_heads_must_divide_the_query_heads():
    _refused(sf.LlamaConfig, "num_kv_heads", 3, r"expected a divisor of num_heads=2.*among \[1, 2\]")
    _refused(sf.LlamaConfig, "num_kv_heads", 0, "expected a value > 0")


def test_choices_and_token_ids():
    _refused(sf.GPTConfig, "activation", "tanh", "expected one of")
    _refused(sf.EncoderConfig, "positional", "relative", "expected one of")
    _refused(sf.EncoderDecoderConfig, "positional", "rope", r"expected one of \['learned', 'sinusoidal'\]")
    _refused(sf.BertConfig, "pooling", "max", "expected one of")
    with pytest.raises(ConfigError, match=r"bos_token_id=99 is invalid: expected an id in \[0, vocab_size=50\)"):
        sf.EncoderDecoderConfig(**{**SMALL[sf.EncoderDecoderConfig], "bos_token_id": 99})


def test_validation_runs_on_replace_and_keeps_valid_configs():
    config = sf.LlamaConfig(**SMALL[sf.LlamaConfig])
    assert config.num_kv_heads == 2 and config.rope_base == 10000.0
    assert sf.GPTConfig(**{**SMALL[sf.GPTConfig], "dropout": 0}).dropout == 0  # an int is a valid float
    with pytest.raises(ConfigError, match="norm_eps"):
        dataclasses.replace(config, norm_eps=-1.0)


def test_a_bad_config_json_is_refused_when_loading(tmp_path):
    # The issue's cases: GPT-2's layer_norm_epsilon NaN, Llama's rms_norm_eps -1, "false" read as True.
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=16))
    hf.save_pretrained(tmp_path)
    config_path = tmp_path / "config.json"
    good = json.loads(config_path.read_text())
    for key, value, pattern in (("rms_norm_eps", -1, r"norm_eps=-1 is invalid"),
                                ("tie_word_embeddings", "false", r"tie_weights='false' is invalid: expected bool"),
                                ("num_hidden_layers", 2.5, r"num_layers=2.5 is invalid: expected int"),
                                ("num_attention_heads", "2", r"num_heads='2' is invalid: expected int"),
                                ("num_attention_heads", 0, r"num_heads=0 is invalid: expected a value > 0")):
        config_path.write_text(json.dumps({**good, key: value}))
        with pytest.raises(ConfigError, match=pattern):
            sf.from_pretrained(tmp_path)
    # A huge vocabulary is compared with the tensors on a shapes-only model first (nothing allocated).
    config_path.write_text(json.dumps({**good, "vocab_size": 10**12}))
    with pytest.raises(sf.CheckpointError, match=r"token_embedding.weight\s+expected \(1000000000000, 16\)\s+found \(40, 16\)"):
        sf.from_pretrained(tmp_path)
    config_path.write_text(json.dumps(good))
    assert isinstance(sf.from_pretrained(tmp_path), sf.LlamaForCausalLM)


def test_parameter_estimate_bounds_the_real_count():
    for cls, kwargs in SMALL.items():
        model_class = {sf.GPTConfig: sf.GPT, sf.LlamaConfig: sf.LlamaForCausalLM, sf.BertConfig: sf.BertForMaskedLM,
                       sf.EncoderConfig: sf.TransformerEncoder, sf.EncoderDecoderConfig: sf.EncoderDecoder}[cls]
        config = cls(**kwargs)
        real = model_class(config).num_parameters()
        assert real <= estimate_parameters(config) <= 2 * real, cls.__name__
    # GPT-2 small: 124,439,808 parameters; the estimate stays close (within 25%).
    assert 124_439_808 <= estimate_parameters(sf.GPTConfig()) <= 1.25 * 124_439_808


def test_a_model_larger_than_the_machine_is_refused_before_allocating(monkeypatch):
    memory = physical_memory_bytes()
    assert memory is not None and memory > 2**30
    allocated = []
    monkeypatch.setattr(torch.nn.Embedding, "__init__", lambda *a, **k: allocated.append(a))
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"vocab_size=1000000000000.*GiB of memory; check these sizes") as info:
        sf.GPT(sf.GPTConfig(vocab_size=10**12))
    assert time.perf_counter() - start < 1.0 and not allocated
    assert "\n" not in str(info.value)
