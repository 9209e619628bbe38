"""The train / finetune / evaluate commands, end to end on tiny runs."""

import json

import pytest
import torch

from scratchformers.cli import main


def test_train_char_gpt_preset_then_resume_and_evaluate(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be, or not to be, that is the question. " * 60)
    run = tmp_path / "run"
    args = ["train", "--preset", "char-gpt", "--data", str(corpus), "--run_dir", str(run), "--max_steps", "6",
            "--model.num_layers", "1", "--model.d_model", "32", "--block_size", "16", "--batch_size", "4",
            "--eval_every", "3", "--eval_batches", "2", "--save_every", "3", "--progress", "false", "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "GPT" in out and "val_loss" in out
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["model"]["num_layers"] == 1 and resolved["lr"] == 1e-3 and resolved["block_size"] == 16
    assert json.loads((run / "tokenizer.json").read_text())["chars"] == "".join(sorted(set(corpus.read_text())))
    assert (run / "data" / "train.bin").stat().st_size == 2 * int(0.9 * len(corpus.read_text()))  # uint16 ids

    assert main(args[:-4] + ["--max_steps", "9", "--resume", "--device", "cpu"]) == 0  # 3 more steps
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if '"train"' in x]
    assert steps[-1] == 9 and json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 9

    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "val_loss" in capsys.readouterr().out


def test_train_reports_user_mistakes_without_traceback(tmp_path, capsys):
    assert main(["train", "--preset", "char-gpt", "--data", str(tmp_path / "missing.txt"), "--device", "cpu"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_finetune_minilm_command_on_a_small_csv(tmp_path, minilm_dir, capsys):
    rows = ["text,label"] + [f"a {'wonderful' if i % 2 else 'dreadful'} film number {i},{i % 2}" for i in range(60)]
    (tmp_path / "tiny.csv").write_text("\n".join(rows))
    run = tmp_path / "ft"
    torch.manual_seed(0)
    code = main(["finetune", str(minilm_dir), "--data", str(tmp_path / "tiny.csv"), "--strategy", "frozen",
                 "--max-steps", "3", "--batch-size", "8", "--run-dir", str(run), "--device", "cpu"])
    assert code == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "label mapping and balance" in out
    report = json.loads((run / "test_metrics.json").read_text())
    assert report["num_examples"] == 6 and report["strategy"] == "frozen"
    assert report["trainable_parameters"] == 384 * 384 + 384 + 384 * 2 + 2  # pooler + classifier only
    assert (run / "test_confusion_matrix.png").exists()
    assert main(["evaluate", str(run), "--split", "val"]) == 0  # reloads MiniLM + the run's checkpoint
    assert (run / "val_metrics.json").exists()


@pytest.mark.parametrize("command", ["train", "finetune", "evaluate"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and "usage" in capsys.readouterr().out
