"""``scratchformers doctor env``, ``doctor model MODEL`` and ``doctor module file.py:ClassOrFactory``."""

from __future__ import annotations

import argparse

SAMPLE_TEXT = ("The quick brown fox jumps over the lazy dog while the committee reviews "
               "its findings about attention, positions and tokenizers.")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="find the classic transformer bugs (environment, model)")
    sub = p.add_subparsers(dest="doctor_command", metavar="WHAT")
    env = sub.add_parser("env", help="versions, CUDA/GPU memory, CPU, disk, Hugging Face cache")
    env.add_argument("--json", action="store_true", help="print the report as JSON")
    env.set_defaults(func=run_env)
    model = sub.add_parser("model", help="run every model check on a checkpoint")
    model.add_argument("model", metavar="MODEL", help="a model folder, a .gguf file, an asset name (minilm) or a cached hub id")
    model.add_argument("--text", default=SAMPLE_TEXT, help="the text fed to the model")
    model.add_argument("--json", action="store_true", help="print the report as JSON")
    model.set_defaults(func=run_model)
    user = sub.add_parser("module", help="build YOUR model from a Python file and run every model check")
    user.add_argument("spec", metavar="FILE.py:NAME", help="a Python file and the nn.Module class or factory in it")
    user.add_argument("--config", default=None, help="keyword arguments for the constructor, as a JSON object")
    user.add_argument("--causal", action="store_true", help="the model is a decoder (checks the causal mask)")
    user.add_argument("--seq-len", type=int, default=12, help="length of the random probe input (default 12)")
    user.add_argument("--json", action="store_true", help="print the report as JSON")
    user.set_defaults(func=run_module)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def _emit(reports, as_json: bool) -> int:
    if as_json:
        import json

        data = reports[0].to_dict() if len(reports) == 1 else {"ok": all(r.ok for r in reports),
                                                                "reports": [r.to_dict() for r in reports]}
        print(json.dumps(data, indent=2))
    else:
        for report in reports:
            report.print()
    return 0 if all(r.ok for r in reports) else 1


def run_env(args: argparse.Namespace) -> int:
    from scratchformers.doctor import check_env

    return _emit([check_env()], args.json)


def run_model(args: argparse.Namespace) -> int:
    import torch

    from scratchformers.commands._wait import waiting
    from scratchformers.doctor import check_model, check_tokenizer
    from scratchformers.doctor.probe import default_input_ids, infer_max_positions
    from scratchformers.doctor.tokenizer_checks import encode
    from scratchformers.hub import load_model_and_tokenizer

    with waiting(f"loading {args.model} and its tokenizer"):
        model, tokenizer = load_model_and_tokenizer(args.model)
    reports = []
    if tokenizer is not None:
        ids = encode(tokenizer, args.text)
        max_pos = infer_max_positions(model)
        input_ids = torch.tensor([ids[:max_pos] if max_pos else ids])
        reports.append(check_tokenizer(tokenizer, [args.text], max_length=max_pos))
    else:
        input_ids = default_input_ids(model, batch=1, length=16)
    with waiting("running the model checks"):
        reports.insert(0, check_model(model, input_ids, pretrained=True))
    return _emit(reports, args.json)


def run_module(args: argparse.Namespace) -> int:
    from scratchformers.doctor import check_model
    from scratchformers.doctor.probe import default_input_ids
    from scratchformers.doctor.user_module import build_user_model, parse_config
    from scratchformers.errors import ConfigError

    if args.seq_len < 2:
        raise ConfigError(f"--seq-len must be at least 2, got {args.seq_len}")
    model = build_user_model(args.spec, parse_config(args.config)).eval()  # the architecture, not a training step
    input_ids = default_input_ids(model, batch=2, length=args.seq_len)
    return _emit([check_model(model, input_ids, causal=True if args.causal else None)], args.json)
