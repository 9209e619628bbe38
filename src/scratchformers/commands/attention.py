"""``scratchformers attention MODEL "text" -o out.html|out.png``: draw a model's attention."""

from __future__ import annotations

import argparse

from scratchformers.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("attention", help="visualise a model's attention on a text (HTML or PNG)")
    p.add_argument("model", metavar="MODEL", help="a model folder, a .gguf file, an asset name (minilm) or a cached hub id")
    p.add_argument("text", help="the text to run through the model")
    p.add_argument("-o", "--output", required=True, help="out.html (head + model view) or out.png (one head)")
    p.add_argument("--layer", type=int, default=0, help="layer for the PNG heatmap (default 0)")
    p.add_argument("--head", type=int, default=0, help="head for the PNG heatmap (default 0)")
    p.add_argument("--no-special-tokens", dest="special_tokens", action="store_false",
                   help="drop the special tokens ([CLS]/[SEP], BOS) the model was trained with (default: keep them; "
                        "without them the attention that sits on [CLS]/[SEP] lands on the first word instead)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from scratchformers.commands._checks import check_output_file
    from scratchformers.commands._wait import waiting
    from scratchformers.hub import load_model_and_tokenizer
    from scratchformers.viz import attention_heatmap, attention_html, collect_attention

    suffix = args.output.rsplit(".", 1)[-1].lower() if "." in args.output else ""
    if suffix not in ("html", "htm", "png", "svg", "pdf"):
        raise ConfigError(f"--output {args.output!r}: use a .html file (interactive) or a .png file (one head)")
    check_output_file(args.output, "-o/--output")
    if not args.text:
        raise ConfigError("the text is empty; give a text to run through the model")
    with waiting(f"loading {args.model} and its tokenizer"):
        model, tokenizer = load_model_and_tokenizer(args.model)
    if tokenizer is None:
        raise ConfigError(f"no tokenizer found next to {args.model}; the text cannot be tokenised")
    # our tokenizers share one signature; the special tokens stay by default because a model trained with
    # them parks most attention on them: removed, that mass moves onto real words and misleads the reader
    ids = tokenizer.encode(args.text, add_special_tokens=args.special_tokens)
    tokens = [tokenizer.id_to_token(i) or tokenizer.decode([i]) for i in ids]
    attentions = collect_attention(model, torch.tensor([ids]))
    if suffix in ("html", "htm"):
        attention_html(attentions, tokens, path=args.output, title=f"attention: {args.model}")
    else:
        attention_heatmap(attentions, tokens, layer=args.layer, head=args.head, path=args.output)
    print(f"wrote {args.output} ({len(attentions)} layers, {attentions[0].shape[1]} heads, {len(tokens)} tokens)")
    return 0
