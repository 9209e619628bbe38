"""The drawn weights are the model's (checked against a hand computation and the reference
library), the HTML page is self-contained, and 512-token inputs stay usable."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch

from scratchformers.viz import as_layers, attention_heatmap, attention_html, collect_attention, decode_weights

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return transformers.BertModel.from_pretrained(minilm_dir).eval()


def _payload(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="sf-attention-data">(.*?)</script>', page, re.S)
    assert match, "the data block is missing"
    return json.loads(match.group(1))


def _hand_attention(x, q_proj, k_proj, heads, mask=None):
    """softmax(Q K^T / sqrt(d)) over keys from the layer input x (B, T, D)."""
    b, t, d = x.shape
    q = q_proj(x).view(b, t, heads, d // heads).transpose(1, 2)
    k = k_proj(x).view(b, t, heads, d // heads).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // heads)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1)


def test_hf_weights_are_the_models(minilm):
    ids = torch.randint(1000, 30000, (1, 9), generator=torch.Generator().manual_seed(0))
    attentions = collect_attention(minilm, ids)
    assert minilm.config._attn_implementation == "sdpa"  # put back after the eager call
    assert len(attentions) == 6 and attentions[0].shape == (1, 12, 9, 9)
    # reference: the first layer's attention recomputed by hand from its input
    captured = {}
    layer = minilm.encoder.layer[0].attention.self
    hook = minilm.encoder.layer[0].register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
    with torch.no_grad():
        minilm(ids)
        hook.remove()
        expected = _hand_attention(captured["x"], layer.query, layer.key, 12)
    torch.testing.assert_close(attentions[0], expected, atol=1e-5, rtol=1e-4)
    for w in attentions:
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5, rtol=0)


def test_our_model_weights_come_from_need_weights(minilm_dir):
    from scratchformers.hub import from_pretrained

    model = from_pretrained(minilm_dir).eval()
    ids = torch.randint(1000, 30000, (1, 9), generator=torch.Generator().manual_seed(0))
    attentions = collect_attention(model, ids)
    reference = transformers.BertModel.from_pretrained(minilm_dir).eval()
    reference.set_attn_implementation("eager")
    with torch.no_grad():
        expected = reference(ids, output_attentions=True).attentions
    assert len(attentions) == len(expected)
    for ours, theirs in zip(attentions, expected):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_user_module_weights_come_from_the_tracer(student_lm):
    model = student_lm
    ids = torch.randint(0, 64, (1, 8), generator=torch.Generator().manual_seed(0))
    attentions = collect_attention(model, ids)
    assert len(attentions) == 2
    captured = {}
    attn = model.blocks[0].attn
    hook = attn.register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
    with torch.no_grad():
        model(ids)
        hook.remove()
        causal = torch.tril(torch.ones(8, 8, dtype=torch.bool))
        expected = _hand_attention(captured["x"], attn.query, attn.key, 4, causal)
    torch.testing.assert_close(attentions[0], expected, atol=1e-6, rtol=1e-5)


def test_html_is_self_contained_and_carries_the_weights(minilm, tmp_path):
    ids = torch.randint(1000, 30000, (1, 12), generator=torch.Generator().manual_seed(1))
    attentions = collect_attention(minilm, ids)
    tokens = [f"tok{i}" for i in range(12)]
    page = attention_html(attentions, tokens, path=tmp_path / "a.html", title="minilm <test>")
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == page
    assert not re.search(r"https?://", page)  # nothing fetched from the network
    assert not re.search(r"<script[^>]+src=", page) and "<link" not in page and "@import" not in page
    assert "minilm &lt;test&gt;" in page  # the title is escaped
    assert 'id="head-view"' in page and 'id="grid"' in page  # head view and model view
    payload = _payload(page)
    assert payload["tokens"] == tokens and payload["dense"]
    decoded = decode_weights(payload)
    expected = as_layers(attentions)  # (6, 12, 12, 12)
    assert decoded.shape == expected.shape
    np.testing.assert_allclose(decoded, expected, atol=0.5 / 65535 + 1e-6)
    np.testing.assert_allclose(decoded.sum(-1), 1.0, atol=12 * 0.5 / 65535 + 1e-6)


def test_512_tokens_stay_usable(minilm, tmp_path):
    ids = torch.randint(1000, 30000, (1, 512), generator=torch.Generator().manual_seed(2))
    attentions = collect_attention(minilm, ids)
    tokens = [f"t{i}" for i in range(512)]
    page = attention_html(attentions, tokens, path=tmp_path / "long.html", top_k=16)
    size_mb = len(page.encode()) / 2**20
    assert size_mb < 4, f"{size_mb:.1f} MB"  # dense float JSON would be > 100 MB
    payload = _payload(page)
    assert not payload["dense"] and payload["k"] == 16
    decoded = decode_weights(payload)[3, 5]  # layer 3, head 5: (512, 512) with 16 entries per row
    model_row = attentions[3][0, 5].numpy()
    for i in (0, 100, 511):  # each row keeps exactly the model's 16 strongest keys
        kept = set(np.flatnonzero(decoded[i]))
        strongest = set(np.argsort(-model_row[i])[:16])
        assert kept == strongest
        np.testing.assert_allclose(decoded[i, list(kept)], model_row[i, list(kept)], atol=0.5 / 65535 + 1e-6)
    fig = attention_heatmap(attentions, tokens, layer=3, head=5)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) <= 48 and len(ax.get_xticklabels()) <= 48
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), model_row)


def test_heatmap_png_draws_the_models_weights(minilm, tmp_path):
    ids = torch.randint(1000, 30000, (1, 7), generator=torch.Generator().manual_seed(3))
    attentions = collect_attention(minilm, ids)
    tokens = list("abcdefg")
    fig = attention_heatmap(attentions, tokens, layer=1, head=2, path=tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_array_equal(drawn, attentions[1][0, 2].numpy())
    np.testing.assert_allclose(drawn.sum(-1), 1.0, atol=1e-5)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == tokens


def test_bad_arguments_raise_clear_errors(minilm):
    from scratchformers.errors import ConfigError, ShapeError

    w = torch.softmax(torch.randn(2, 3, 5, 5), -1)
    with pytest.raises(ShapeError, match="5 x 5 but got 4 query"):
        attention_html((w,), list("abcd"))
    with pytest.raises(ConfigError, match="1 layers x 3 heads"):
        attention_heatmap((w,), list("abcde"), layer=0, head=7)


def test_cli_attention_html_and_png(minilm_dir, tmp_path, capsys):
    from scratchformers.cli import main

    assert main(["attention", str(minilm_dir), "the movie was great", "-o", str(tmp_path / "a.html")]) == 0
    payload = _payload((tmp_path / "a.html").read_text(encoding="utf-8"))
    assert payload["tokens"] == ["[CLS]", "the", "movie", "was", "great", "[SEP]"] and payload["layers"] == 6
    assert main(["attention", "minilm", "the movie was great", "-o", str(tmp_path / "a.png"), "--layer", "5"]) == 0
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert main(["attention", "minilm", "x", "-o", str(tmp_path / "a.txt")]) == 2
    assert ".html" in capsys.readouterr().err


def test_cli_attention_keeps_special_tokens_like_the_reference(minilm_dir, tmp_path):
    """By default the drawn tokens and weights are the reference tokenizer's full encoding, [CLS]/[SEP]
    included; --no-special-tokens drops them (issue 18, item 5)."""
    from scratchformers.cli import main

    text = "a surprisingly moving film"
    reference = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    encoded = reference(text, return_tensors="pt")
    eager = transformers.BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        expected = eager(**encoded, output_attentions=True).attentions
    assert main(["attention", "minilm", text, "-o", str(tmp_path / "with.html")]) == 0
    payload = _payload((tmp_path / "with.html").read_text(encoding="utf-8"))
    assert payload["tokens"] == reference.convert_ids_to_tokens(encoded["input_ids"][0])
    assert payload["tokens"][0] == "[CLS]" and payload["tokens"][-1] == "[SEP]"
    drawn = decode_weights(payload)
    np.testing.assert_allclose(drawn[5][3], expected[5][0, 3].numpy(), atol=2e-3)

    assert main(["attention", "minilm", text, "-o", str(tmp_path / "without.html"), "--no-special-tokens"]) == 0
    payload = _payload((tmp_path / "without.html").read_text(encoding="utf-8"))
    assert payload["tokens"] == reference.tokenize(text)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed: the page script is only syntax-checked with it")
def test_page_script_is_valid_javascript(tmp_path):
    w = torch.softmax(torch.randn(1, 2, 4, 4), -1)
    page = attention_html((w,), list("abcd"))
    script = re.findall(r"<script>(.*?)</script>", page, re.S)[0]
    (tmp_path / "page.js").write_text(script, encoding="utf-8")
    result = subprocess.run(["node", "--check", str(tmp_path / "page.js")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
