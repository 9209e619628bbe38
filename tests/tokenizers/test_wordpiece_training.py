"""WordPiece training and trainer options against HF ``tokenizers``' trainers on the same corpus."""

from __future__ import annotations

import json

import pytest

from scratchformers.errors import ConfigError
from scratchformers.tokenizers import BPETokenizer, ByteLevelBPETokenizer, WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _hf_wordpiece(texts, vocab_size, **options):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    hf = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    hf.normalizer = normalizers.BertNormalizer(lowercase=True)
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False, **options)
    hf.train_from_iterator(texts, trainer)
    return hf


@pytest.mark.parametrize(
    "size, options",
    [
        (2000, {}),
        (3000, {"min_frequency": 5, "limit_alphabet": 60, "initial_alphabet": ["é", "xyz", "🙂"]}),
    ],
)
def test_wordpiece_vocabulary_equals_hf_trainer(rt_texts, size, options):
    texts = list(rt_texts[:3000])
    hf = _hf_wordpiece(texts, size, **options)
    ours = WordPieceTokenizer.train(texts, size, show_progress=False, **options)
    theirs = hf.get_vocab()
    # the same tokens; ids agree for the special tokens and the alphabet. (HF numbers the "##c"
    # symbols in hash-map order, which varies from run to run, so later ids are not comparable.)
    assert set(ours.get_vocab()) == set(theirs)
    alphabet = [t for t in sorted(theirs, key=theirs.get) if len(t) == 1 or t in SPECIALS]
    assert all(ours.token_to_id(t) == theirs[t] for t in alphabet)
    if "limit_alphabet" in options:
        assert len([t for t in theirs if len(t) == 1]) == 60 and "🙂" in theirs and "x" in theirs
    held_out = list(rt_texts[5000:5200])
    assert [hf.encode(t).tokens for t in held_out] == [ours(t, add_special_tokens=False).tokens() for t in held_out]


def test_byte_level_lowercase_training_equals_hf(rt_texts):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    texts = list(rt_texts[:2000])
    hf = Tokenizer(models.BPE())
    hf.normalizer = normalizers.Lowercase()
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=700, min_frequency=2, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    hf.train_from_iterator(texts, trainer)
    model = json.loads(hf.to_str())["model"]
    ours = ByteLevelBPETokenizer.train(texts, 700, lowercase=True, show_progress=False)
    assert [tuple(m) for m in model["merges"]] == ours.merges
    assert ours.encode("The FILM Was GREAT") == hf.encode("The FILM Was GREAT").ids


def test_classic_bpe_limit_and_initial_alphabet_by_hand():
    texts = ["aaa bbb ccc abc", "aab zq"]  # counts: a 6, b 5, c 4, z 1, q 1
    tok = BPETokenizer.train(texts, 12, limit_alphabet=3, initial_alphabet=["Ω"], min_frequency=1, show_progress=False)
    alphabet = [t for t in tok.get_vocab() if len(t) == 1]
    assert alphabet == ["a", "b", "Ω"]  # limit 3: the forced "Ω" plus the two most frequent
    assert tok.tokenize("zq")[:1] == ["[UNK]"]  # z and q were dropped from the alphabet


@pytest.mark.parametrize("lacking", ["[UNK]", "[CLS]", "[SEP]", "[PAD]"])
def test_train_refuses_missing_required_specials_before_training(lacking):
    """Every token the constructor requires is checked before the corpus is read (regression:
    only [UNK] was, so training ran to the end and then failed with a vocab.txt message)."""

    def corpus():
        raise AssertionError("the texts were read before the special tokens were checked")
        yield ""

    specials = [t for t in SPECIALS if t != lacking]
    with pytest.raises(ConfigError, match=rf"lack '\{lacking}'.*needs"):
        WordPieceTokenizer.train(corpus(), 100, special_tokens=specials, show_progress=False)
    tok = WordPieceTokenizer.train(["a b c"], 7, special_tokens=SPECIALS[:4], show_progress=False)
    assert tok.mask_token is None and tok.pad_token_id == 0
