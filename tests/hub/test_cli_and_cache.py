"""``scratchformers convert`` / ``inspect`` and the GGUF -> safetensors user cache."""

from __future__ import annotations

import hashlib

import pytest
import torch

from scratchformers import assets
from scratchformers.cli import main
from scratchformers.hub import cached_safetensors, from_pretrained, load_tokenizer_for

transformers = pytest.importorskip("transformers")
TEXT = "the theatre in a thin tent"


def test_inspect_minilm(minilm_dir, capsys):
    assert main(["inspect", str(minilm_dir), "--tensors", "2"]) == 0
    out = capsys.readouterr().out
    assert "BertModel" in out and "WordPiece" in out
    assert "22,713,216" in out  # sum of HF BertModel parameters for all-MiniLM-L6-v2 (position_ids excluded)


def test_inspect_gguf(tiny_gguf, capsys):
    path, hf = tiny_gguf
    assert main(["inspect", str(path), "--tensors", "0"]) == 0
    out = capsys.readouterr().out
    assert "llama" in out and "Q4_1" in out and "Q8_0" in out and "blk.1.ffn_down.weight" in out
    assert f"{sum(p.numel() for p in hf.parameters()):,}" in out


def test_inspect_missing_path_is_a_clean_cli_error(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nothing" / "model.gguf")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_convert_gguf_to_a_folder_transformers_opens(tiny_gguf, tmp_path, capsys):
    pytest.importorskip("accelerate")
    path, _ = tiny_gguf
    out = tmp_path / "converted"
    assert main(["convert", str(path), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    from_folder = transformers.LlamaForCausalLM.from_pretrained(out).eval()
    from_gguf = transformers.LlamaForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    ).eval()
    ids = torch.randint(0, from_gguf.config.vocab_size, (1, 10), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(from_folder(ids).logits, from_gguf(ids).logits)
    # the tokenizer rebuilt from the GGUF metadata, as transformers reads the written tokenizer.json
    hf_tok = transformers.AutoTokenizer.from_pretrained(out)
    assert hf_tok(TEXT, add_special_tokens=False).input_ids == load_tokenizer_for(path).encode(TEXT)


def test_convert_folder_normalises_bin_and_copies_tokenizer(minilm_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("config.json", "vocab.txt", "tokenizer.json"):
        (src / name).write_bytes((minilm_dir / name).read_bytes())
    from safetensors.torch import load_file

    torch.save(load_file(minilm_dir / "model.safetensors"), src / "pytorch_model.bin")
    assert main(["convert", str(src), str(tmp_path / "dst"), "--dtype", "float16"]) == 0
    converted = from_pretrained(tmp_path / "dst")
    original = from_pretrained(minilm_dir)
    assert (tmp_path / "dst" / "vocab.txt").read_bytes() == (minilm_dir / "vocab.txt").read_bytes()
    w, ref = converted.blocks[3].ffn.up_proj.weight, original.blocks[3].ffn.up_proj.weight
    assert torch.equal(w, ref.half().float())  # stored as float16, loaded back as float32


def test_cached_safetensors_converts_once_keyed_by_checksum(tiny_gguf, tmp_path, monkeypatch):
    path, _ = tiny_gguf
    monkeypatch.setenv("SCRATCHFORMERS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "asset_path", lambda name: path)
    folder = cached_safetensors("tiny")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert folder == tmp_path / "cache" / f"tiny-{digest}"
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert cached_safetensors("tiny") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not converted again
    a, b = from_pretrained(folder).state_dict(), from_pretrained(path).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("asset", ["minilm", "gpt2-tokenizer"])
def test_tokenizer_saved_alongside_opens_in_transformers(asset, tmp_path):
    from scratchformers.models import GPT, BertConfig, BertModel, GPTConfig

    tokenizer = load_tokenizer_for(assets.asset_path(asset))
    if asset == "minilm":
        model = BertModel(BertConfig(num_layers=1, d_model=32, num_heads=2, d_ff=64))
    else:
        model = GPT(GPTConfig(num_layers=1, d_model=32, num_heads=2))
    model.save_pretrained(tmp_path, tokenizer=tokenizer)
    text = "Hello World, the unaffable tokenizer's 2024 test!"
    hf_ids = transformers.AutoTokenizer.from_pretrained(tmp_path)(text).input_ids
    assert hf_ids == tokenizer.encode_batch([text])["input_ids"][0]
    assert load_tokenizer_for(tmp_path).encode(text) == tokenizer.encode(text)
