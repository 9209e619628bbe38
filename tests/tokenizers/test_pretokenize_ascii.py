"""GPT-2's pre-tokenizer runs ASCII text through a ``re`` twin of its pattern (2x faster than the
``regex`` module): the pieces must be exactly those of the original pattern, for any ASCII text."""

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchformers.tokenizers.pretokenize import _GPT2_ASCII_FINDALL, GPT2_PATTERN, RegexPreTokenizer

reference = regex.compile(GPT2_PATTERN).findall
# every ASCII character, with the ones the pattern treats specially made frequent
ascii_text = st.text(st.one_of(st.characters(max_codepoint=127), st.sampled_from(list(" \n\t\r\x0b\x0c\x1c'sdmtlvre"))),
                     max_size=60)


@settings(max_examples=3000, deadline=None)
@given(ascii_text)
def test_ascii_pieces_equal_the_regex_module(text):
    assert RegexPreTokenizer("gpt2").split(text) == reference(text)


def test_every_ascii_character_alone_and_in_runs():
    for code in range(128):
        for text in (chr(code), chr(code) * 3, " " + chr(code) + "  x", "a" + chr(code) + "'s\n"):
            assert RegexPreTokenizer("gpt2").split(text) == reference(text), repr(text)


def test_non_ascii_text_takes_the_regex_module():
    text = "naïve café ² Ⅻ   \u00a0x"
    assert RegexPreTokenizer("gpt2").split(text) == reference(text)


def test_the_fast_path_is_in_use_where_python_supports_it():
    import sys

    if sys.version_info >= (3, 11):
        assert _GPT2_ASCII_FINDALL is not None
        assert RegexPreTokenizer("gpt2").split.__name__ == "_gpt2_split"
