"""Streaming never emits a broken character; stop strings stop exactly where transformers stops."""

from __future__ import annotations

import pytest
import torch
from transformers.generation.stopping_criteria import StopStringCriteria as HFStopStringCriteria

from scratchformers.generation import (
    EosCriteria,
    StopStringCriteria,
    TextIteratorStreamer,
    TextStreamer,
    generate,
    stream,
)

TEXT = "Hello 世界 🤖 naïve café! Stop here, stopper. Das ist schön 😀😀 ok"


@pytest.fixture(scope="module")
def gpt2_tok(gpt2_tokenizer_dir):
    """transformers' fast GPT-2 tokenizer built from the offline vocab files (no hub access)."""
    from transformers import PreTrainedTokenizerFast

    from tokenizers import ByteLevelBPETokenizer

    core = ByteLevelBPETokenizer(str(gpt2_tokenizer_dir / "encoder.json"), str(gpt2_tokenizer_dir / "vocab.bpe"))
    return PreTrainedTokenizerFast(tokenizer_object=core)


def collect_stream(tokenizer, ids: list[int]) -> list[str]:
    pieces: list[str] = []
    streamer = TextStreamer(tokenizer, skip_prompt=False, on_text=pieces.append)
    for token in ids:
        streamer.put(torch.tensor([token]))
    streamer.end()
    return pieces


def test_streamer_is_utf8_safe_and_lossless(gpt2_tok):
    ids = gpt2_tok.encode(TEXT)
    assert "\ufffd" in "".join(gpt2_tok.decode([i]) for i in ids)  # tokens really split characters
    pieces = collect_stream(gpt2_tok, ids)
    assert all("\ufffd" not in piece for piece in pieces)
    assert "".join(pieces) == gpt2_tok.decode(ids) == TEXT
    assert len(pieces) > 10  # streamed piece by piece, not all at the end


def test_streamer_holds_back_an_unfinished_character(gpt2_tok):
    ids = gpt2_tok.encode(" 🤖")
    assert len(ids) >= 2
    pieces: list[str] = []
    streamer = TextStreamer(gpt2_tok, skip_prompt=False, on_text=pieces.append)
    for token in ids[:-1]:
        streamer.put([token])
    assert "".join(pieces) == " "  # the emoji's first bytes wait
    streamer.put([ids[-1]])
    assert "".join(pieces) == " 🤖"


def test_streamer_skips_the_prompt_and_prints_by_default(gpt2_tok, capsys):
    streamer = TextStreamer(gpt2_tok)
    streamer.put(torch.tensor([gpt2_tok.encode("prompt")]))
    for token in gpt2_tok.encode(" done"):
        streamer.put(torch.tensor([token]))
    streamer.end()
    assert capsys.readouterr().out == " done\n"


def test_stream_iterator_yields_the_generated_text(gpt_pair, gpt2_tok):
    _, ours = gpt_pair
    prompt = torch.tensor([[40, 300, 290]])
    pieces = list(stream(ours, prompt, tokenizer=gpt2_tok, max_new_tokens=20))
    generated = generate(ours, prompt, max_new_tokens=20)[0, 3:].tolist()
    assert "".join(pieces) == gpt2_tok.decode(generated)


def test_stream_iterator_reraises_generation_errors(gpt_pair, gpt2_tok):
    _, ours = gpt_pair
    with pytest.raises(ValueError, match="temperature"):
        list(stream(ours, torch.tensor([[1, 2]]), tokenizer=gpt2_tok, max_new_tokens=3, temperature=-1.0))


def test_iterator_streamer_direct(gpt2_tok):
    streamer = TextIteratorStreamer(gpt2_tok, skip_prompt=False, timeout=5)
    for token in gpt2_tok.encode("abc déf"):
        streamer.put([token])
    streamer.end()
    assert "".join(streamer) == "abc déf"


@pytest.mark.parametrize("stop", [["stop"], ["ist sch", "😀"], ["Stop here"], ["é"], ["never-there"]])
def test_stop_strings_match_hf_criteria_on_every_prefix(gpt2_tok, stop):
    ids = gpt2_tok.encode(TEXT)
    ours = StopStringCriteria(gpt2_tok, stop)
    theirs = HFStopStringCriteria(gpt2_tok, stop)
    for end in range(1, len(ids) + 1):
        prefix = torch.tensor([ids[:end]])
        assert ours(prefix).tolist() == theirs(prefix, None).tolist(), (end, gpt2_tok.decode(ids[:end]))


def test_generate_with_stop_strings_matches_hf(gpt_pair, gpt2_tok):
    hf, ours = gpt_pair
    prompt = torch.tensor([[40, 300, 290], [50, 60, 70]])
    free = generate(ours, prompt, max_new_tokens=24)
    stop = gpt2_tok.decode(free[0, 10:12].tolist())  # text the first row is going to produce
    expected = hf.generate(prompt, max_new_tokens=24, do_sample=False, stop_strings=stop, tokenizer=gpt2_tok, pad_token_id=1)
    got = generate(ours, prompt, max_new_tokens=24, stop_strings=stop, tokenizer=gpt2_tok)
    assert torch.equal(got, expected)
    assert stop in gpt2_tok.decode(got[0, 3:].tolist())


def test_eos_criteria_checks_the_newest_token_only():
    criteria = EosCriteria([3, 9])
    ids = torch.tensor([[3, 5], [5, 9], [9, 9], [1, 2]])
    assert criteria(ids).tolist() == [False, True, True, False]
