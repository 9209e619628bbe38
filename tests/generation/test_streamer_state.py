"""TextStreamer state: copies are independent; a prompt ending inside a character is completed whole."""

from __future__ import annotations

import copy

import pytest
import torch

from scratchformers.generation import TextStreamer
from scratchformers.tokenizers import load_gpt2_files


@pytest.fixture(scope="module")
def tok(gpt2_tokenizer_dir):
    return load_gpt2_files(gpt2_tokenizer_dir)


def test_copied_streamer_does_not_share_tokens(tok):
    pieces, copied = [], []
    streamer = TextStreamer(tok, skip_prompt=False, on_text=pieces.append)
    streamer.put(tok.encode("This"))
    twin = copy.copy(streamer)
    twin.on_text = copied.append
    step = tok.encode(" is")
    streamer.put(step)
    twin.put(step)  # the bug: the twin saw the original's " is" too and emitted " is is"
    assert pieces == ["This", " is"]
    assert copied == [" is"]
    twin.put(tok.encode(" it"))
    assert "".join(copied) == tok.decode(tok.encode(" is it"))


def test_prompt_ending_inside_a_character_emits_the_whole_character(tok):
    ids = tok.encode("Robot: 🤖 ok")
    emoji = tok.encode(" 🤖")
    assert len(emoji) >= 2  # the emoji really is split over tokens
    cut = len(tok.encode("Robot:")) + len(emoji) - 1  # the prompt ends inside the emoji
    assert "\ufffd" in tok.decode(ids[:cut])
    pieces: list[str] = []
    streamer = TextStreamer(tok, on_text=pieces.append)  # skip_prompt=True
    streamer.put(torch.tensor([ids[:cut]]))
    for token in ids[cut:]:
        streamer.put(torch.tensor([token]))
    streamer.end()
    assert pieces[0] == "🤖"  # not only the second half (which decodes alone to U+FFFD)
    assert "".join(pieces) == "🤖 ok" == tok.decode(ids)[len("Robot: ") :]
