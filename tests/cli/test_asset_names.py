"""One asset-name resolver: every command and loader takes the same names, and a typo of an asset gets
"did you mean" and the pointer to `scratchformers assets`, never a Hugging Face hub error."""

from __future__ import annotations

import pytest

import scratchformers as sf
from scratchformers.assets import ASSETS, asset_path, find_asset, is_installed
from scratchformers.cli import main
from scratchformers.errors import ConfigError

needs_assets = pytest.mark.skipif(not (is_installed("minilm") and is_installed("smollm2-135m")),
                                  reason="the packaged assets are not installed (make setup)")


@pytest.mark.parametrize("argv, typo, meant", [
    (["generate", "smolm2-135m", "The movie was"], "smolm2-135m", "smollm2-135m"),
    (["inspect", "minilm2"], "minilm2", "minilm"),
    (["attention", "asset:minlm", "a surprisingly moving film", "-o", "out.html"], "minlm", "minilm"),
    (["tokenizer", "encode", "minlm", "a fine film"], "minlm", "minilm"),
    (["doctor", "model", "SmolLM2-135"], "SmolLM2-135", "smollm2-135m"),
    (["convert", "minilm-l6", "out"], "minilm-l6", "minilm"),
])
def test_typo_gets_did_you_mean_and_no_hub_error(argv, typo, meant, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"unknown asset {typo!r}; did you mean {meant!r}?" in err and "`scratchformers assets`" in err
    for hub_words in ("huggingface", "ConnectError", "hub"):
        assert hub_words not in err


def test_unknown_asset_prefix_without_a_close_name():
    with pytest.raises(ConfigError, match=r"unknown asset 'nothing-like-it'; `scratchformers assets`"):
        find_asset("asset:nothing-like-it")


def test_hub_ids_and_paths_are_not_taken_for_typos():
    for text in ("gpt2", "bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2", "runs/my-model"):
        assert find_asset(text) is None


@needs_assets
@pytest.mark.parametrize("name", ["minilm", "asset:minilm", "MiniLM"])
def test_the_same_names_everywhere(name):
    expected = asset_path("minilm")
    assert find_asset(name) == expected
    tokenizer = sf.load_tokenizer(name)  # a WordPiece vocabulary: [CLS] a fine film [SEP] in BERT's ids
    assert tokenizer.encode("a fine film") == [101, 1037, 2986, 2143, 102]
    assert sf.load_tokenizer_for(name).encode("a fine film") == [101, 1037, 2986, 2143, 102]


@needs_assets
def test_tokenizer_encode_and_inspect_accept_asset_names(capsys):
    assert main(["tokenizer", "encode", "minilm", "a fine film", "--threads", "1"]) == 0
    assert "[101, 1037, 2986, 2143, 102]" in capsys.readouterr().out
    assert main(["inspect", "asset:smollm2-135m", "--tensors", "1", "--threads", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # SmolLM2-135M's published config: 30 layers, 9 heads, 3 KV heads, hidden 576, intermediate 1536
    assert "layers 30, heads 9, kv heads 3, width 576, ffn width 1536" in out
    assert main(["inspect", "minilm", "--tensors", "1"]) == 0
    # all-MiniLM-L6-v2: 6 layers, 12 heads, hidden 384, intermediate 1536
    assert "layers 6, heads 12, width 384, ffn width 1536" in " ".join(capsys.readouterr().out.split())


def test_every_asset_name_is_its_own_best_match():
    for name in ASSETS:
        try:
            found = find_asset(name)
        except Exception as err:  # not installed: the pip command, never "did you mean"
            assert "did you mean" not in str(err)
        else:
            assert found is not None
