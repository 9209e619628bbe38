"""Training: merges identical to HF tokenizers' BPE trainer; classic BPE = the paper's script."""

from __future__ import annotations

import collections
import json
import re

import pytest

from scratchformers.errors import ConfigError
from scratchformers.tokenizers import BPETokenizer, ByteLevelBPETokenizer


def _hf_bytelevel_train(texts, vocab_size, *, split_digits=False, files=None):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if split_digits
        else byte_level
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    if files is not None:
        hf.train(files, trainer)
    else:
        hf.train_from_iterator(texts, trainer)
    return json.loads(hf.to_str())["model"]


def _merges(model):
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]


@pytest.mark.parametrize("split_digits", [False, True])
def test_bytelevel_merges_identical_to_hf_trainer(rt_texts, split_digits):
    texts = rt_texts[:4000]
    ours = ByteLevelBPETokenizer.train(texts, 2000, split_digits=split_digits, show_progress=False)
    hf = _hf_bytelevel_train(texts, 2000, split_digits=split_digits)
    assert ours.merges == _merges(hf)
    assert ours.get_vocab() == hf["vocab"]
    assert ours.vocab_size == 2000


def test_train_from_files_streams_like_hf(rt_texts, tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(rt_texts[:3000]) + "\n", encoding="utf-8")
    ours = ByteLevelBPETokenizer.train_from_files([str(path)], 1200, show_progress=False)
    hf = _hf_bytelevel_train(None, 1200, files=[str(path)])
    assert ours.merges == _merges(hf)


def test_saved_tokenizer_json_encodes_identically_in_hf(rt_texts, adversarial, tmp_path):
    from tokenizers import Tokenizer

    for pattern, split_digits in (("gpt2", False), ("cl100k", True)):
        ours = ByteLevelBPETokenizer.train(
            rt_texts[:3000], 1500, pattern=pattern, split_digits=split_digits, show_progress=False
        )
        folder = ours.save(tmp_path / pattern)
        hf = Tokenizer.from_file(str(folder / "tokenizer.json"))
        texts = list(rt_texts[3000:5000]) + adversarial + ["a <|endoftext|> b 2024"]
        assert [e.ids for e in hf.encode_batch(texts)] == [ours.encode(t) for t in texts]
        assert hf.decode(ours.encode(texts[0])) == texts[0]
        # and our own loader reads the same files back
        again = ByteLevelBPETokenizer.load(folder)
        assert again.merges == ours.merges and again.encode(texts[1]) == ours.encode(texts[1])


def test_training_prints_progress(rt_texts, capsys):
    ByteLevelBPETokenizer.train(rt_texts[:300], 400, show_progress=True)
    assert "Compute merges" in capsys.readouterr().err


def test_streaming_memory_is_bounded(rt_texts, tmp_path):
    """Peak memory depends on the distinct words, not the file size (8x the file, same peak)."""
    import tracemalloc

    text = "\n".join(rt_texts[:2000]) + "\n"
    peaks = []
    for copies in (1, 8):
        path = tmp_path / f"c{copies}.txt"
        path.write_text(text * copies, encoding="utf-8")
        tracemalloc.start()
        ByteLevelBPETokenizer.train_from_files(str(path), 300, show_progress=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_vocab_too_small_is_a_clear_error():
    with pytest.raises(ConfigError, match="256 byte tokens"):
        ByteLevelBPETokenizer.train(["abc"], 100, show_progress=False)


# ----- classic BPE against Sennrich et al. (2016), Algorithm 1 -------------------------------------


def _sennrich_reference(vocab: dict[str, int], num_merges: int) -> list[tuple[str, str]]:
    """The paper's reference script (Python 3 dicts keep insertion order)."""

    def get_stats(vocab):
        pairs = collections.defaultdict(int)
        for word, freq in vocab.items():
            symbols = word.split()
            for i in range(len(symbols) - 1):
                pairs[symbols[i], symbols[i + 1]] += freq
        return pairs

    def merge_vocab(pair, v_in):
        pattern = re.compile(r"(?<!\S)" + re.escape(" ".join(pair)) + r"(?!\S)")
        return {pattern.sub("".join(pair), word): freq for word, freq in v_in.items()}

    merges = []
    for _ in range(num_merges):
        pairs = get_stats(vocab)
        if not pairs:
            break
        best = max(pairs, key=pairs.get)
        vocab = merge_vocab(best, vocab)
        merges.append(best)
    return merges


def test_classic_bpe_textbook_example():
    corpus = ["low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3]
    alphabet = set("lowernewestwidest")
    tok = BPETokenizer.train(
        corpus, 1 + len(alphabet) + 1 + 10, special_tokens=("[UNK]",), min_frequency=0, show_progress=False
    )
    # The merges printed in the paper for this vocabulary (Sennrich et al. 2016, Algorithm 1).
    textbook = [
        ("e", "s"),
        ("es", "t"),
        ("est", "</w>"),
        ("l", "o"),
        ("lo", "w"),
        ("n", "e"),
        ("ne", "w"),
        ("new", "est</w>"),
        ("low", "</w>"),
        ("w", "i"),
    ]
    assert tok.merges == textbook
    words = {"l o w </w>": 5, "l o w e r </w>": 2, "n e w e s t </w>": 6, "w i d e s t </w>": 3}
    assert _sennrich_reference(words, 10) == textbook
    assert tok.tokenize("lowest") == ["low", "est</w>"]
    assert tok.tokenize("low ☃") == ["low</w>", "[UNK]", "</w>"]  # unseen character -> [UNK]


def test_classic_bpe_matches_reference_script_on_real_text(rt_texts):
    from scratchformers.tokenizers.pretokenize import word_punct_split

    texts = rt_texts[:400]
    counts = collections.Counter(w for t in texts for w in word_punct_split(t))
    vocab = {" ".join([*w, "</w>"]): c for w, c in counts.items()}
    expected = _sennrich_reference(vocab, 200)
    alphabet = {c for w in counts for c in w}
    tok = BPETokenizer.train(
        texts, 1 + len(alphabet) + 1 + 200, special_tokens=("[UNK]",), min_frequency=0, show_progress=False
    )
    assert tok.merges == expected
