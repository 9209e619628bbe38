"""No title or token can become markup in an attention page: checked with a real HTML5 parser.

html5lib implements the WHATWG parsing algorithm browsers use, so "which elements exist" and
"what text does the data block hold" are answered as a browser would answer them. A hostile page
must have exactly the elements of a harmless one, and its data must ``JSON.parse`` back to the
tokens and title given.
"""

from __future__ import annotations

import json

import html5lib
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchformers.viz import attention_html
from scratchformers.viz.html import script_json

HOSTILE = [
    "__DATA__", "__SCRIPT__", "__TITLE__", "<!--<script>", "</script><img src=x onerror=alert(1)>",
    "</SCRIPT ><svg onload=alert(1)>", "<script>alert(1)</script>", "-->", "<![CDATA[", "]]>", "&amp;", "&lt;",
    "\u2028", "\u2029", "</title><img src=x onerror=alert(1)>", "\"'`", "<\\/script>", "\ud800",
]


def _page(tokens: list[str], title: str) -> str:
    weights = torch.softmax(torch.randn(1, 1, len(tokens), len(tokens), generator=torch.Generator().manual_seed(0)), -1)
    return attention_html((weights,), tokens, title=title)


def _parse(page: str):
    return html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)


def _elements(tree) -> list[tuple[str, tuple]]:
    return [(el.tag, tuple(sorted(el.attrib.items()))) for el in tree.iter() if isinstance(el.tag, str)]


def _data(tree) -> dict:
    blocks = [el for el in tree.iter("script") if el.get("id") == "sf-attention-data"]
    assert len(blocks) == 1
    return json.loads(blocks[0].text)


REFERENCE = _elements(_parse(_page(["a", "b"], "attention")))


def _assert_inert(tokens: list[str], title: str) -> None:
    tree = _parse(_page(tokens, title))
    assert _elements(tree) == REFERENCE  # no element added, removed or given an attribute
    data = _data(tree)
    assert data["tokens"] == tokens and data["key_tokens"] == tokens
    assert (tree.find(".//title").text or "") == title and (tree.find(".//h2").text or "") == title
    scripts = [el for el in tree.iter("script") if el.get("type") is None]
    assert len(scripts) == 1 and "JSON.parse" in scripts[0].text  # the page's own script, whole


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_token_or_title_stays_text(hostile):
    title = hostile if "\ud800" not in hostile else "plain"  # a title is HTML text: no lone surrogates
    _assert_inert([hostile, "b", hostile + hostile], title)


def test_model_folder_named_like_a_placeholder_stays_text():
    # The CLI titles the page "attention: MODEL"; a folder named m__DATA__ used to paste the JSON in.
    title = "attention: m__DATA__"
    page = _page(["x", "y"], title)
    assert page.count('"tokens":') == 1
    _assert_inert(["x", "y"], title)


# Titles are HTML text: the parser normalises CR and NUL and rejects lone surrogates, as browsers do.
_title_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_token_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens=st.lists(_token_text, min_size=1, max_size=5),
       title=st.one_of(st.sampled_from(HOSTILE[:-1]), st.text(_title_chars, max_size=20)))
def test_any_tokens_and_title_round_trip_without_markup(tokens, title):
    _assert_inert(tokens, title)


@given(st.recursive(st.one_of(st.text(), st.integers(), st.booleans()),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=10))
@settings(max_examples=80, deadline=None)
def test_script_json_has_no_markup_characters_and_round_trips(value):
    text = script_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value
