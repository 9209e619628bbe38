"""TrainConfig: presets, TOML/JSON files, command-line overrides, validation."""

import dataclasses
import json

import pytest

from scratchformers.errors import ConfigError
from scratchformers.training.config import PRESETS, TrainConfig, build_config, parse_overrides


def test_resolution_order_preset_file_overrides(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('lr = 5e-4\nmax_steps = 300\nbetas = [0.9, 0.95]\n[model]\nnum_layers = 2\n')
    cfg = build_config(preset_name="char-gpt", file=toml,
                       overrides=parse_overrides(["--max_steps", "7", "--model.d_model=64", "--compile", "true"]))
    assert cfg.lr == 5e-4 and cfg.betas == (0.9, 0.95)  # file beats preset
    assert cfg.max_steps == 7 and cfg.compile is True  # overrides beat file, converted to the field's type
    assert cfg.model == {**PRESETS["char-gpt"]["model"], "num_layers": 2, "d_model": 64}
    assert cfg.block_size == 64 and cfg.batch_size == 12  # untouched preset values


def test_json_file_and_roundtrip(tmp_path):
    cfg = TrainConfig(lr=1e-4, model={"num_layers": 1})
    cfg.save(tmp_path / "c.json")
    again = build_config(file=tmp_path / "c.json")
    assert again == cfg
    assert json.loads((tmp_path / "c.json").read_text())["lr"] == 1e-4


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"overrides": {"learning_rate": "1"}}, "unknown config key 'learning_rate'"),
        ({"overrides": {"max_steps": "ten"}}, "ten"),
        ({"overrides": {"task": "translate"}}, "unknown task"),
        ({"overrides": {"batch_size": "0"}}, "batch_size must be positive"),
        ({"preset_name": "gpt-5"}, "unknown preset"),
        ({"overrides": {"compile": "maybe"}}, "true/false"),
    ],
)
def test_clear_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_config(**kwargs)


def test_integers_accept_scientific_notation():
    assert build_config(overrides={"max_steps": "2e3"}).max_steps == 2000


def test_every_preset_is_a_valid_config():
    for name in PRESETS:
        assert isinstance(build_config(preset_name=name), TrainConfig)


def test_cli_model_keys_cover_the_model_configs():
    from scratchformers.commands.train import _model_keys
    from scratchformers.models import BertConfig, GPTConfig

    keys = set(_model_keys())
    for cls in (GPTConfig, BertConfig):
        assert {f.name for f in dataclasses.fields(cls)} - {"vocab_size", "max_positions"} <= keys
