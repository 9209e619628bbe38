"""`scratchformers generate`: prompt in, continuation out, equal to transformers' greedy output."""

from __future__ import annotations

import shutil

import pytest
import torch

from scratchformers.cli import main

PROMPT = "a b c"


@pytest.fixture(scope="module")
def model_folder(gpt_pair, gpt2_tokenizer_dir, tmp_path_factory):
    """The tiny GPT-2 checkpoint with the GPT-2 tokenizer files next to it."""
    hf, _ = gpt_pair
    folder = tmp_path_factory.mktemp("cli-model")
    hf.save_pretrained(folder)
    for name in ("encoder.json", "vocab.bpe"):
        shutil.copy(gpt2_tokenizer_dir / name, folder / name)
    return folder


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--strategy", "--max-new-tokens", "--top-p", "--num-beams", "--seed", "--stream", "--compare", "--compile-kernels"):
        assert option in out


@pytest.mark.parametrize("stream, compile_kernels", [(False, False), (True, False), (False, True)])
def test_greedy_output_matches_transformers(
    gpt_pair, model_folder, capsys, monkeypatch, single_row_spy, stream, compile_kernels
):
    from scratchformers import backends
    from scratchformers.backends import gemv
    from scratchformers.tokenizers import load_tokenizer

    if compile_kernels:  # every weight of this tiny model is below the threshold: lower it
        monkeypatch.setattr(gemv, "GEMV_MIN_WEIGHT", 0)

    hf, _ = gpt_pair
    tokenizer = load_tokenizer(model_folder)
    ids = torch.tensor([tokenizer.encode(PROMPT)])
    expected = hf.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=1)
    argv = ["generate", str(model_folder), PROMPT, "--max-new-tokens", "12", "--ignore-eos"]
    assert main(argv + (["--stream"] if stream else []) + (["--compile-kernels"] if compile_kernels else [])) == 0
    out = capsys.readouterr().out
    assert out == PROMPT + tokenizer.decode(expected[0, ids.size(1) :].tolist()) + "\n"
    if compile_kernels and backends.ONEDNN_LINEAR:
        assert any(single_row_spy), "--compile-kernels did not reach the single-row kernels"


def test_compare_shows_every_strategy_with_scores(model_folder, capsys):
    assert main(["generate", str(model_folder), PROMPT, "--max-new-tokens", "8", "--compare", "--num-beams", "2"]) == 0
    out = capsys.readouterr().out
    for word in ("greedy", "sample", "beam", "distinct-2"):
        assert word in out


def test_bad_model_path_is_a_clean_error(capsys, tmp_path):
    assert main(["generate", str(tmp_path / "missing"), PROMPT]) == 2
    assert "error:" in capsys.readouterr().err


def test_bad_value_is_a_clean_error(model_folder, capsys):
    assert main(["generate", str(model_folder), PROMPT, "--strategy", "sample", "--top-p", "1.5"]) == 2
    assert "top_p=1.5" in capsys.readouterr().err
