"""The environment report, free_memory, and the doctor/cache command lines."""

from __future__ import annotations

import json
import platform

import pytest
import torch

from scratchformers.cli import main
from scratchformers.doctor import check_env
from scratchformers.memory import free_memory


def _fake_cache(root):
    """A Hugging Face cache layout: blobs + a snapshot symlink, one incomplete download."""
    entry = root / "models--org--tiny"
    (entry / "blobs").mkdir(parents=True)
    (entry / "snapshots" / "abc").mkdir(parents=True)
    blob = entry / "blobs" / "deadbeef"
    blob.write_bytes(b"x" * 4096)
    (entry / "snapshots" / "abc" / "model.safetensors").symlink_to(blob)
    (entry / "blobs" / "cafe.incomplete").write_bytes(b"y" * 10)
    other = root / "models--gpt2"
    (other / "blobs").mkdir(parents=True)
    (other / "blobs" / "feed").write_bytes(b"z" * 100)
    return entry, other


def test_env_report_has_the_real_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    _fake_cache(tmp_path)
    report = check_env()
    versions = report.get("env.versions").message
    assert f"torch {torch.__version__}" in versions and f"python {platform.python_version()}" in versions
    assert report.get("env.cuda") is not None and report.get("env.disk") is not None
    cache = report.get("env.hf_cache")
    assert cache.status == "warn" and "models--org--tiny: 1 incomplete download(s)" in cache.message
    assert str(tmp_path) in cache.message and "2 entries" in cache.message


def test_version_conflict_is_read_from_transformers_own_metadata(monkeypatch):
    import importlib.metadata

    from packaging.requirements import Requirement

    from scratchformers.doctor import env

    spec = next(Requirement(r).specifier for r in importlib.metadata.requires("transformers")
                if Requirement(r).name == "tokenizers" and Requirement(r).marker is None)
    assert env.unmet_requirements("transformers") == []  # this environment is consistent
    real = env._version
    monkeypatch.setattr(env, "_version", lambda name: "0.10.3" if name == "tokenizers" else real(name))
    problems = env.unmet_requirements("transformers")
    assert problems == [f"transformers {real('transformers')} requires tokenizers{spec}, found 0.10.3"]
    assert check_env().get("env.versions").status == "warn"


def test_free_memory_releases_the_parameter_and_optimizer_bytes():
    model = torch.nn.Linear(256, 128)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 256)).sum().backward()
    opt.step()
    params = (256 * 128 + 128) * 4
    expected = params * 4 + 4 * 2  # weights, grads, Adam exp_avg + exp_avg_sq; 2 scalar step counters
    report = free_memory(model, opt)
    assert report.bytes_freed == expected
    assert model.weight.numel() == 0 and model.weight.grad is None and len(opt.state) == 0
    assert "MiB" in str(report)


def test_doctor_env_json_cli(capsys):
    code = main(["doctor", "env", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == (0 if data["ok"] else 1)
    assert {f["id"] for f in data["findings"]} >= {"env.versions", "env.cuda", "env.disk", "env.hf_cache"}


def test_doctor_model_cli_on_minilm(minilm_dir, capsys):
    code = main(["doctor", "model", str(minilm_dir), "--text", "a gripping thriller", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"], data
    model_report = data["reports"][0]
    assert {f["id"]: f["status"] for f in model_report["findings"]}["pretrained"] == "ok"


def test_doctor_model_cli_exits_nonzero_on_a_failure(tmp_path, capsys):
    from scratchformers.hub import save_pretrained
    from scratchformers.models import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=1000, max_positions=64, num_layers=2, num_heads=4, d_model=64, d_ff=128))
    save_pretrained(model, tmp_path / "fresh")  # random weights saved as if they were a checkpoint
    code = main(["doctor", "model", str(tmp_path / "fresh")])
    out = capsys.readouterr().out
    assert code == 1 and "pretrained" in out and "looks randomly" in out


def test_doctor_model_cli_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["doctor", "model", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cache_clear_dry_run_then_yes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    entry, other = _fake_cache(tmp_path)
    assert main(["cache", "clear", "org/tiny", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "model.safetensors" in out and entry.exists()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["cache", "clear", "org/tiny"]) == 2  # no confirmation possible: refuses
    assert entry.exists() and "--yes" in capsys.readouterr().err
    assert main(["cache", "clear", "org/tiny", "--yes"]) == 0
    assert not entry.exists() and other.exists()  # only that entry went
    assert main(["cache", "clear", "org/missing", "--yes"]) == 2
    assert "models--gpt2" in capsys.readouterr().err


def test_cache_clear_asks_first(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    entry, _ = _fake_cache(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["cache", "clear", "org/tiny"]) == 0 and entry.exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["cache", "clear", "org/tiny"]) == 0 and not entry.exists()


@pytest.mark.parametrize("argv", [["doctor", "--help"], ["doctor", "model", "--help"], ["attention", "--help"],
                                  ["cache", "clear", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0 and "usage" in capsys.readouterr().out


def test_env_names_the_cpu_kernels_and_a_missing_compiler(monkeypatch):
    from scratchformers.backends import native
    from scratchformers.doctor.env import cpu_kernels_finding

    if native.available():
        assert cpu_kernels_finding().status == "ok" and "C matrix-vector kernel" in cpu_kernels_finding().message
    monkeypatch.setattr(native, "_compiler", lambda: None)
    native._library.cache_clear()
    try:
        finding = cpu_kernels_finding()
        assert finding.status == "warn" and "apt install gcc" in finding.fix and "MKL" in finding.message
    finally:
        native._library.cache_clear()
