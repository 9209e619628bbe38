"""Shared tokenizer fixtures: the real GPT-2 files loaded once, adversarial text."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # references load from local folders only

# Hard cases for pre-tokenization and byte handling: whitespace runs, newlines, emoji (with
# skin-tone modifiers and flags), CJK, combining marks, code, contractions, very long words.
_ADVERSARIAL = [
    "",
    " ",
    "  hello   world  ",
    "\n\n\nfoo\n \n",
    "tabs\t\tand\r\nwindows\r\nlines",
    "emoji 😀👍🏽 🇫🇷 family 👨‍👩‍👧",
    "北京欢迎你，東京も。한국어 텍스트",
    "e\u0301 n\u0303 a\u0308\u0301 combining",
    "def f(x):\n    return x**2  # square\n\t\tpass\n",
    "a" * 3000,
    "supercalifragilisticexpialidocious" * 20,
    "I'm you'll THEY'RE can't 12345 3.14159 1,000,000",
    "x\u00a0y\u2028z\u3000w\u200bv",
    "Ünïcödé ÀÉÎÕÜ ß ẞ ﬁ Ǆ İstanbul ΣΑΣ",
    '<html><body class="x">&amp;</body></html>',
    "    indented\n        more\n",
    "$$$ ### !!! ??? ... --- ___",
]


@pytest.fixture(scope="session")
def gpt2(gpt2_tokenizer_dir):
    from scratchformers.tokenizers import load_gpt2_files

    return load_gpt2_files(gpt2_tokenizer_dir)


@pytest.fixture(scope="session")
def gpt2_ranks(gpt2_tokenizer_dir):
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    return data_gym_to_mergeable_bpe_ranks(
        str(gpt2_tokenizer_dir / "vocab.bpe"), str(gpt2_tokenizer_dir / "encoder.json")
    )


@pytest.fixture(scope="session")
def adversarial():
    return list(_ADVERSARIAL)


def _tiktoken_source_pattern(name: str) -> str:
    """A pattern exactly as tiktoken ships it, read from its source (no download)."""
    import inspect
    import re

    import tiktoken_ext.openai_public as public

    if name == "gpt2":
        return public.r50k_pat_str
    src = inspect.getsource({"cl100k": public.cl100k_base, "o200k": public.o200k_base}[name])
    return "|".join(re.findall(r'r"""(.*?)"""', src, flags=re.S))


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_ranks):
    """Factory: tiktoken with GPT-2's ranks and the given pattern ("gpt2", "cl100k", "o200k")."""
    import tiktoken

    def make(pattern: str = "gpt2"):
        return tiktoken.Encoding(
            f"gpt2-{pattern}",
            pat_str=_tiktoken_source_pattern(pattern),
            mergeable_ranks=gpt2_ranks,
            special_tokens={"<|endoftext|>": 50256},
        )

    return make


@pytest.fixture(scope="session")
def rt_texts(rotten_tomatoes):
    return rotten_tomatoes[0]


@pytest.fixture(scope="session")
def tiktoken_r50k(tiktoken_gpt2):
    return tiktoken_gpt2("gpt2")
