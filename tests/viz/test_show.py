"""``sf.viz.show``: the standalone attention page inline (iframe srcdoc), checked without a notebook."""

from __future__ import annotations

import html
import json
import re

import torch

import scratchformers as sf


def attention(seed=0, layers=2, heads=3, t=5):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(1, heads, t, t, generator=g).softmax(-1) for _ in range(layers))


def test_show_embeds_the_standalone_page_in_an_iframe():
    from IPython.display import HTML

    weights, tokens = attention(), ["The", "cat", "<sat>", "on", "&mat"]
    shown = sf.viz.show(weights, tokens, title="my view")
    assert isinstance(shown, HTML)
    match = re.fullmatch(r'<div class="scratchformers-attention"><iframe srcdoc="([^"]*)" style="[^"]*" title="[^"]*"></iframe></div>', shown.data)
    assert match  # one attribute value: every quote of the page is escaped
    page = html.unescape(match.group(1))
    assert page == sf.viz.attention_html(weights, tokens, title="my view")  # the very same page
    data = re.search(r'<script type="application/json" id="sf-attention-data">(.*?)</script>', page, re.S).group(1)
    assert "<sat>" not in data  # markup characters are escaped inside the page ...
    assert json.loads(data)["tokens"] == tokens  # ... and the tokens come back intact as JSON data
    assert shown._repr_html_() == shown.data  # what Jupyter renders


def test_show_loads_nothing_from_the_network():
    data = sf.viz.show(attention(), list("abcde")).data
    assert not re.search(r"(src|href)=\S*(https?:)?//", html.unescape(data))
    assert "http://" not in data and "https://" not in data


def test_show_without_ipython(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ipython(name, *args, **kwargs):
        if name.startswith("IPython"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipython)
    shown = sf.viz.show(attention(), list("abcde"), height=300)
    assert "height:300px" in shown._repr_html_() and "<iframe srcdoc=" in shown._repr_html_()
