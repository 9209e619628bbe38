"""Messages that used to mislead (issue 16): each now names the real problem."""

from __future__ import annotations

import pytest
import torch

from scratchformers.errors import ConfigError, SequenceTooLongError, ShapeError
from scratchformers.generation import generate
from scratchformers.models import GPT, GPTConfig


@pytest.fixture(scope="module")
def tiny_gpt():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, max_positions=8, num_layers=1, num_heads=2, d_model=16)).eval()


def test_empty_text_is_called_empty_not_dtype_float32(tiny_gpt):
    empty = torch.tensor([[]])  # what torch.tensor([tokenizer.encode("")]) gives: float32, shape (1, 0)
    with pytest.raises(ShapeError, match=r"input_ids is empty \(1, 0\)") as err:
        generate(tiny_gpt, empty, max_new_tokens=2)
    assert "float32" not in str(err.value)
    with pytest.raises(ShapeError, match="empty"):
        tiny_gpt(empty)


def test_an_all_padding_row_is_an_empty_prompt_not_right_padding(tiny_gpt):
    ids = torch.tensor([[0, 0, 0], [3, 4, 5]])
    mask = torch.tensor([[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ConfigError, match=r"row\(s\) \[0\] are all padding") as err:
        generate(tiny_gpt, ids, attention_mask=mask, max_new_tokens=2)
    assert "right padding" not in str(err.value)
    with pytest.raises(ConfigError, match="right padding"):  # the real right-padding case keeps its message
        generate(tiny_gpt, ids, attention_mask=torch.tensor([[1, 1, 0], [1, 1, 1]]), max_new_tokens=2)


def test_a_prompt_that_fills_the_context_does_not_suggest_zero_new_tokens(tiny_gpt):
    with pytest.raises(SequenceTooLongError) as err:
        generate(tiny_gpt, torch.arange(8)[None], max_new_tokens=1)
    assert "at most 0" not in str(err.value) and "shorten it to at most 7 tokens" in str(err.value)
    with pytest.raises(SequenceTooLongError, match="lower max_new_tokens to at most 3"):
        generate(tiny_gpt, torch.arange(5)[None], max_new_tokens=4)
