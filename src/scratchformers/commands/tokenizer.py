"""``scratchformers tokenizer``: train, encode with, and compare tokenizers."""

from __future__ import annotations

import argparse

KINDS = ("bpe", "bytelevel", "wordlevel")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("tokenizer", help="train a tokenizer, encode text, compare vocabulary sizes")
    sub = p.add_subparsers(dest="tokenizer_command", metavar="ACTION")

    train = sub.add_parser("train", help="train a tokenizer on text files and save it to a folder")
    train.add_argument("--files", nargs="+", required=True, help="UTF-8 text files (streamed line by line)")
    train.add_argument("--vocab-size", type=int, required=True, help="vocabulary size incl. special tokens")
    train.add_argument(
        "--kind", choices=KINDS, default="bytelevel", help="tokenizer kind (default: bytelevel)"
    )
    train.add_argument(
        "--min-frequency", type=int, default=2, help="least count for a merge/word (default 2)"
    )
    train.add_argument("--special-tokens", nargs="*", default=None, help="special tokens (default per kind)")
    train.add_argument("-o", "--output", required=True, help="folder to save the tokenizer to")
    train.set_defaults(func=run_train)

    encode = sub.add_parser("encode", help="show the tokens and ids of a text")
    encode.add_argument(
        "path", help="tokenizer folder or file (ours, GPT-2, HF tokenizer.json, BERT vocab.txt), a model's "
        ".gguf file, or an asset name (minilm, gpt2-tokenizer, smollm2-135m)"
    )
    encode.add_argument("text", help="the text to encode")
    encode.set_defaults(func=run_encode)

    compare = sub.add_parser("compare", help="the vocabulary-size trade-off: a table and a PNG plot")
    compare.add_argument("--files", nargs="+", required=True, help="UTF-8 text files (last 10%% held out)")
    compare.add_argument("--vocab-sizes", default="1000,4000,16000", help="comma-separated sizes")
    compare.add_argument("--kinds", default="wordlevel,bpe,bytelevel", help="comma-separated kinds")
    compare.add_argument(
        "--plot", default="tokenizer_compare.png", help="PNG path (default tokenizer_compare.png)"
    )
    compare.set_defaults(func=run_compare)

    p.set_defaults(func=lambda args: p.print_help() or 0)


def _check_files(files: list[str]) -> None:
    from pathlib import Path

    from scratchformers.errors import ConfigError

    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise ConfigError(f"training files not found: {missing}; pass existing UTF-8 text files to --files")


def run_train(args: argparse.Namespace) -> int:
    from scratchformers.tokenizers import BPETokenizer, ByteLevelBPETokenizer, WordLevelTokenizer

    _check_files(args.files)
    cls = {"bpe": BPETokenizer, "bytelevel": ByteLevelBPETokenizer, "wordlevel": WordLevelTokenizer}[
        args.kind
    ]
    kwargs = {"min_frequency": args.min_frequency}
    if args.special_tokens is not None:
        kwargs["special_tokens"] = args.special_tokens
    tok = cls.train_from_files(args.files, args.vocab_size, **kwargs)
    out = tok.save(args.output)
    print(f"saved {tok!r} to {out}")
    return 0


def run_encode(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scratchformers.assets import find_asset
    from scratchformers.commands._wait import waiting
    from scratchformers.hub import load_tokenizer_for
    from scratchformers.tokenizers import load_tokenizer

    path = Path(args.path)
    if not path.exists():  # asset names as every other command takes them; "did you mean" for a typo
        path = find_asset(args.path) or path
    with waiting(f"loading the tokenizer of {args.path}"):
        tok = load_tokenizer_for(path) if path.suffix == ".gguf" else load_tokenizer(path)
    ids = tok.encode(args.text)
    tokens = [tok.id_to_token(i) for i in ids]
    print(f"{len(ids)} tokens")
    print("tokens:", tokens)
    print("ids:   ", ids)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from scratchformers.errors import ConfigError
    from scratchformers.tokenizers.base import iter_file_lines
    from scratchformers.tokenizers.compare import compare_vocab_sizes, format_table
    from scratchformers.viz.tokenizers import plot_vocab_comparison

    _check_files(args.files)
    try:
        sizes = [int(s) for s in args.vocab_sizes.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(
            f"--vocab-sizes {args.vocab_sizes!r} must be comma-separated integers, e.g. 1000,4000"
        ) from None
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    rows = compare_vocab_sizes(iter_file_lines(args.files), sizes, kinds)
    print(format_table(rows))
    print(f"plot: {plot_vocab_comparison(rows, args.plot)}")
    return 0
