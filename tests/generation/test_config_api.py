"""generate(model, ids, generation_config=None, **overrides): GenerationConfig is the one list of
options; unknown names fail with a suggestion; the model protocol replaces attribute sniffing."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

import scratchformers as sf
from scratchformers.errors import ConfigError
from scratchformers.generation import DecodeState, GenerationConfig, GenerationModel, generate


def test_config_and_overrides_give_the_same_tokens_as_keywords(gpt_pair):
    _, ours = gpt_pair
    ids = torch.tensor([[5, 6, 7]])
    config = GenerationConfig(max_new_tokens=6, num_beams=3, length_penalty=0.5)
    by_keywords = generate(ours, ids, max_new_tokens=6, num_beams=3, length_penalty=0.5)
    assert torch.equal(generate(ours, ids, config), by_keywords)
    assert torch.equal(ours.generate(ids, config), by_keywords)
    # An override wins over the config, and the config object is not modified.
    assert torch.equal(generate(ours, ids, config, num_beams=1), generate(ours, ids, max_new_tokens=6))
    assert config.num_beams == 3


def test_default_config_generates_20_tokens(gpt_pair):
    _, ours = gpt_pair
    assert generate(ours, torch.tensor([[5, 6, 7]])).shape == (1, 3 + 20)


@pytest.mark.parametrize(
    "name, suggestion",
    [("max_new_token", "max_new_tokens"), ("topk", "top_k"), ("num_beam", "num_beams"), ("atention_mask", "attention_mask")],
)
def test_unknown_option_names_the_closest_one(gpt_pair, name, suggestion):
    _, ours = gpt_pair
    with pytest.raises(ConfigError, match=rf"unknown generation option '{name}': did you mean '{suggestion}'\?"):
        generate(ours, torch.tensor([[5, 6, 7]]), **{name: 3})


def test_every_option_is_a_config_field_and_nothing_else_is_listed_twice():
    fields = {f.name for f in dataclasses.fields(GenerationConfig)}

    params = set(inspect.signature(generate).parameters)
    # generate's own keywords are inputs and helpers, never options.
    assert params == {"model", "input_ids", "generation_config", "attention_mask", "decoder_input_ids",
                      "generator", "streamer", "tokenizer", "overrides"}
    assert not fields & params


def test_wrong_config_type_and_model_without_the_protocol_are_clear_errors(gpt_pair):
    _, ours = gpt_pair
    with pytest.raises(ConfigError, match="generation_config must be a GenerationConfig, got dict"):
        generate(ours, torch.tensor([[5]]), {"max_new_tokens": 3})
    with pytest.raises(ConfigError, match="Linear cannot generate: it needs prepare_generation_inputs"):
        generate(torch.nn.Linear(2, 2), torch.tensor([[5]]))


def test_the_protocol_drives_a_model_that_is_not_a_scratchformers_model():
    """Any object with prepare_generation_inputs/forward_step generates: a bigram table here."""

    class Bigram:
        def __init__(self):
            self.table = torch.full((10, 10), -5.0)
            for t in range(10):
                self.table[t, (t * 3 + 1) % 10] = 5.0  # next token = 3t + 1 mod 10

        def prepare_generation_inputs(self, input_ids, attention_mask=None, *, max_new_tokens, use_cache=True, decoder_input_ids=None):
            return DecodeState(prompt=input_ids, max_length=input_ids.size(1) + max_new_tokens)

        def forward_step(self, sequences, cur_len, state):
            return self.table[sequences[:, cur_len - 1]]

    model = Bigram()
    assert isinstance(model, GenerationModel)
    out = generate(model, torch.tensor([[2]]), max_new_tokens=4)
    assert out.tolist() == [[2, 7, 2, 7, 2]]


def test_decoder_only_rejects_decoder_input_ids(gpt_pair):
    _, ours = gpt_pair
    with pytest.raises(ConfigError, match="decoder_input_ids is for encoder-decoder models"):
        generate(ours, torch.tensor([[5]]), decoder_input_ids=torch.tensor([[1]]), max_new_tokens=2)


def test_a_prompt_at_max_positions_gets_a_fix_that_can_be_followed(gpt_pair):
    _, ours = gpt_pair
    ids = torch.zeros(1, ours.max_positions, dtype=torch.long)
    with pytest.raises(sf.SequenceTooLongError, match=r"the prompt alone fills the context: shorten it to at most \d+ tokens"):
        generate(ours, ids, max_new_tokens=1)
