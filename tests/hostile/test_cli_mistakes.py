"""Every user mistake of issue 16 ends in exit 2 and ONE line on stderr: what, why, the fix; no traceback.

Each case was a traceback, a misleading message or a silent acceptance before the fix.
"""

from __future__ import annotations

import pytest
import torch

from scratchformers.cli import main

# ---- config files and flags --------------------------------------------------------------------


@pytest.mark.parametrize("text, needles", [
    ("lr = \n", ["not valid TOML"]),
    ('lr = "fast"\n', ["lr must be a number", "'fast'"]),
    ("seed = 2.5\n", ["seed must be an integer"]),
    ("grad_accum_steps = 2.5\n", ["grad_accum_steps must be an integer", "2.5"]),
    ("compile = \"false\"\n", ["compile must be true or false", "'false'"]),
    ("model = 3\n", ["`model` must be a table", "got 3"]),
    ("betas = [0.9]\n", ["betas must be a pair"]),
    ("[model]\nbogus = 1\n", ["model.bogus is not a GPTConfig setting", "num_layers"]),
    ("[model]\ndropout = \"none\"\n", ["model.dropout must be a number"]),
])
def test_bad_toml_config(cli, user_error, tmp_path, train_args, text, needles):
    config = tmp_path / "run.toml"
    config.write_text(text)
    user_error(cli(train_args("--config", str(config))), *needles)


def test_bad_json_config_and_missing_and_non_utf8(cli, user_error, tmp_path, train_args):
    bad = tmp_path / "run.json"
    bad.write_text('{"grad_accum_steps": "many"}')
    user_error(cli(train_args("--config", str(bad))), "grad_accum_steps must be an integer", "'many'")
    bad.write_text('{"max_steps": 3,')
    user_error(cli(train_args("--config", str(bad))), "not valid JSON")
    bad.write_bytes(b'{"data": "caf\xe9"}')
    user_error(cli(train_args("--config", str(bad))), "not UTF-8", "0xe9", "offset 13")
    user_error(cli(train_args("--config", str(tmp_path / "nope.toml"))), "does not exist")


@pytest.mark.parametrize("flag, value, needles", [
    ("--log_every", "0", ["log_every must be positive"]),
    ("--eval_every", "0", ["eval_every must be positive"]),
    ("--lr", "nan", ["lr must be a finite number"]),
    ("--lr", "inf", ["lr must be a finite number"]),
    ("--lr", "-1", ["lr and eps must be positive"]),
    ("--lr", "fast", ["--lr expects a number"]),
    ("--max_steps", "ten", ["--max_steps expects an integer"]),
    ("--val_fraction", "1.5", ["val_fraction must be between 0 and 1"]),
    ("--val_fraction", "0", ["val_fraction must be between 0 and 1"]),
    ("--save_every", "0", ["--save_every 0 would never save"]),
    ("--keep_last", "-1", ["keep_last must be >= 0"]),
    ("--betas", "0.9,1.5", ["betas must be in [0, 1)"]),
    ("--progress", "maybe", ["expected true/false"]),
    ("--device", "tpu", ["unknown device"]),
    ("--model.num_layers", "two", ["model.num_layers must be an integer", "'two'"]),
    ("--model.bogus", "1", ["unrecognized arguments: --model.bogus"]),
])
def test_bad_flag_values(cli, user_error, train_args, flag, value, needles):
    user_error(cli(train_args(flag, value)), *needles)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the mistake is asking for CUDA on a machine without it")
def test_cuda_without_cuda(cli, user_error, train_args):
    user_error(cli(train_args("--device", "cuda")), "CUDA is not available", "--device cpu")


def test_unknown_option_is_one_line_not_the_whole_usage(cli, user_error, train_args):
    code, _, err = cli(train_args("--bogus", "1"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--bogus" in err and "--help" in err


def test_finetune_negative_epochs_refused_before_loading_anything(cli, user_error, tmp_path):
    result = cli(["finetune", str(tmp_path / "no-model"), "--epochs", "-1"])
    user_error(result, "--epochs must be positive", "-1")
    result = cli(["finetune", str(tmp_path / "no-model"), "--epochs", "nan"])
    user_error(result, "--epochs must be positive")
    user_error(cli(["finetune", str(tmp_path / "no-model"), "--max-steps", "0"]), "max_steps must be positive")


# ---- data --------------------------------------------------------------------------------------


def test_non_utf8_corpus_names_file_byte_and_offset(cli, user_error, tmp_path, train_args, corpus):
    corpus.write_bytes("naïve text ".encode() * 3 + b"caf\xe9 au lait")
    line = user_error(cli(train_args()), "not UTF-8", str(corpus), "0xe9", "iconv")
    assert f"offset {len('naïve text '.encode()) * 3 + 3}" in line


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_empty_corpus(cli, user_error, train_args, corpus, content):
    corpus.write_text(content)
    user_error(cli(train_args()), "is empty")


def test_empty_corpus_folder(cli, user_error, tmp_path, train_args):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("")
    user_error(cli(train_args("--data", str(folder))), "is empty")


def test_non_utf8_csv_for_finetune(cli, user_error, tmp_path):
    csv = tmp_path / "reviews.csv"
    csv.write_bytes(b"text,label\nnice,1\nd\xe9go\xfbtant,0\n")
    result = cli(["finetune", str(tmp_path / "no-model"), "--data", str(csv)])
    user_error(result, "not UTF-8", "reviews.csv", "0xe9")


def test_non_utf8_argument(cli, user_error):
    user_error(cli(["generate", "some-model", "caf\udce9"]), "argument 3 is not valid UTF-8", "e9")


def test_empty_prompt_refused_before_loading(cli, user_error, tmp_path):
    user_error(cli(["generate", str(tmp_path / "no-model"), ""]), "PROMPT is empty")


def test_output_into_a_missing_folder(cli, user_error, tmp_path):
    out = tmp_path / "missing" / "page.html"
    result = cli(["attention", str(tmp_path / "no-model"), "text", "-o", str(out)])
    user_error(result, "does not exist", "mkdir -p")


def test_inspect_on_a_plain_file(cli, user_error, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a checkpoint")
    user_error(cli(["inspect", str(path)]), "notes.txt is a file, not a checkpoint")
    user_error(cli(["demo", "--quick", "--out", str(path)]), "--out", "is a file")


def test_corrupt_tokenizer_file(cli, user_error, tmp_path, train_args):
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": {')
    user_error(cli(train_args("--tokenizer", str(folder))), "tokenizer.json", "is not valid JSON", "line 1 column")


# ---- run directories ---------------------------------------------------------------------------


def test_run_dir_is_a_file(cli, user_error, tmp_path, train_args):
    (tmp_path / "run").write_text("I am a file")
    user_error(cli(train_args()), "is a file")


def test_run_dir_inside_a_file(cli, user_error, tmp_path, train_args):
    (tmp_path / "afile").write_text("x")
    user_error(cli(train_args(run="afile/run")), "afile")


def test_read_only_run_dir(cli, user_error, tmp_path, train_args, monkeypatch):
    # Root ignores permission bits, so the refusal the kernel would give is simulated.
    from scratchformers.training import run_lock

    real_open = run_lock.os.open

    def read_only(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(run_lock.os, "open", read_only)
    user_error(cli(train_args()), "cannot use run directory", "Permission denied", "writable")


# ---- groups, internal errors -------------------------------------------------------------------


@pytest.mark.parametrize("group", ["cache", "doctor", "tokenizer"])
def test_group_without_subcommand_prints_its_help_and_exits_2(cli, user_error, group):
    code, out, err = cli([group])
    assert code == 2 and f"usage: scratchformers {group}" in err and out == ""


def test_no_command_prints_help_and_exits_2(cli, user_error):
    code, _, err = cli([])
    assert code == 2 and "usage: scratchformers" in err


def test_internal_error_keeps_its_traceback_and_says_how_to_report(cli, user_error, monkeypatch):
    from scratchformers.commands import info

    def broken(args):
        return {}["a bug"]

    monkeypatch.setattr(info, "run", broken)
    code, _, err = cli(["info"])
    assert code == 1 and "Traceback" in err and "KeyError" in err and "this is a bug" in err


def test_main_never_lets_an_exception_escape(cli, user_error, monkeypatch):
    from scratchformers.commands import info

    monkeypatch.setattr(info, "run", lambda args: 1 / 0)
    assert main(["info"]) == 1


def test_a_flag_is_parsed_with_the_fields_type_not_the_files_wrong_value(tmp_path):
    from scratchformers.training.config import build_config

    config_file = tmp_path / "run.toml"
    config_file.write_text('max_steps = "many"\nlr = "fast"\n')
    config = build_config(file=config_file, overrides={"max_steps": "4", "lr": "3e-4"})
    assert config.max_steps == 4 and type(config.max_steps) is int and config.lr == 3e-4


def test_a_mistyped_forced_gemm_kernel_is_a_clear_error(cli, user_error, train_args):
    """SCRATCHFORMERS_GEMM=onednm used to mean plain MKL without a word; now it is named."""
    from scratchformers.backends import choice

    with choice.forced("onednm"):
        user_error(cli(train_args()), "GEMM kernel 'onednm'", "mkl, onednn, mv, c", "SCRATCHFORMERS_GEMM")
