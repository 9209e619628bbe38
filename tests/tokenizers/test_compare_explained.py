"""``tokenizer compare`` explains the two readings a newcomer misreads (issue 18, item 11).

References are counted by hand on a synthetic corpus: its distinct words (where word-level saturates)
and the held-out characters never seen in training (classic BPE's only unknown tokens)."""

import re

import pytest

from scratchformers.tokenizers.compare import compare_vocab_sizes, format_table
from scratchformers.viz.tokenizers import vocab_comparison_figure

pytestmark = pytest.mark.filterwarnings("ignore:.*training stopped at a vocabulary")  # expected here: saturation
WORDS = ["apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel", "ilama", "jujube"]
TRAIN = [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(6)) for i in range(60)]
HELDOUT = ["apple qiwi fig", "zesty banana", "grape xq"]  # q, w, z, t, s, y, x never appear in training


@pytest.fixture(scope="module")
def rows():
    return compare_vocab_sizes(TRAIN + HELDOUT, [40, 400, 4000], ("wordlevel", "bpe"), heldout_fraction=3 / 63)


def test_word_level_saturates_at_the_distinct_words_and_is_drawn_once(rows):
    specials = 5  # the default special tokens: [PAD] [UNK] [CLS] [SEP] [MASK]
    words = [r for r in rows if r["kind"] == "wordlevel"]
    assert [r["vocab_size"] for r in words] == [len(WORDS) + specials] * 3  # 10 words + the specials
    assert [r["saturated"] for r in words] == [True, True, True]
    table = format_table(rows)
    assert re.search(r"wordlevel: asked 40, 400, 4000, reached 1\d: the corpus has no more distinct words", table)
    fig = vocab_comparison_figure(rows)
    line = next(line for line in fig.axes[0].lines if line.get_label() == "wordlevel")
    assert list(line.get_xdata()) == [len(WORDS) + specials]  # one point, no vertical line of repeats
    assert "saturated (asked 40, 400, 4000)" in [t.get_text() for t in fig.axes[0].texts]


def test_bpe_unknowns_are_the_unseen_characters_at_every_size(rows):
    seen = set("".join(TRAIN))
    unseen = sum(1 for text in HELDOUT for ch in text if not ch.isspace() and ch not in seen)
    heldout_bytes = sum(len(t.encode()) for t in HELDOUT)
    bpe = [r for r in rows if r["kind"] == "bpe"]
    assert [r["unknown_tokens"] for r in bpe] == [unseen] * 3
    assert [r["unknown_per_kb"] for r in bpe] == [pytest.approx(1000 * unseen / heldout_bytes)] * 3
    rates = [r["unknown_rate"] for r in bpe]
    assert rates[0] < rates[-1]  # the per-token rate rises although nothing new is unknown...
    assert f"bpe: the same {unseen} unknown tokens at every size" in format_table(rows)  # ...and the table says why
