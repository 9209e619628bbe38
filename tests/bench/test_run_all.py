"""bench/run_all.py: the report it writes, and the contract every bench script follows.

The benchmarks themselves are not run here (minutes of CPU); `make bench-quick` does that.
"""

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all")


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCH))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_bench_script_has_main_with_quick(script):
    tree = ast.parse(script.read_text())
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains, f"{script.name} must define main(argv=None) -> dict"
    args = mains[0].args
    assert [a.arg for a in args.args] == ["argv"] and len(args.defaults) == 1, f"{script.name}: main(argv=None)"
    assert "--quick" in script.read_text(), f"{script.name} needs a --quick mode"


def test_discover_finds_the_scripts(run_all):
    assert run_all.discover() == [p.stem for p in SCRIPTS]
    assert {"attention", "tokenizer", "generation", "training"} <= set(run_all.discover())


def test_normalise_keeps_contract_rows_and_tolerates_hand_made_ones(run_all):
    row = run_all.normalise({"ours": 2.0, "peer": 4.0, "unit": "s", "ratio": 2.0, "target": 1.5})
    assert row == {"ours": 2.0, "peer": 4.0, "ratio": 2.0, "unit": "s", "target": 1.5, "notes": "",
                   "flops_per_unit": None, "bytes_per_unit": None, "peer_bytes_per_unit": None}
    hand = run_all.normalise({"ours": 5, "peer": 4, "ratio": 1.25, "target": None, "same_tokens": True})
    assert hand["unit"] == "" and hand["target"] is None and hand["notes"] == "same_tokens=True"
    assert run_all.met(hand) == "n/a"
    assert run_all.met(row) == "yes" and run_all.met({**row, "ratio": 1.0}) == "**no**"
    with pytest.raises(ValueError, match="ratio"):
        run_all.normalise({"ours": 1.0, "peer": 1.0})


def test_a_peer_that_streams_other_bytes_gets_its_own_fraction(run_all):
    """llama.cpp streams quantised blocks, we float32: each side's bandwidth fraction uses its bytes."""
    row = run_all.normalise({"ours": 10.0, "peer": 40.0, "ratio": 0.25, "bytes_per_unit": 1e9,
                             "peer_bytes_per_unit": 1.5e8})
    probe = {"bandwidth_gbs": {"read": 20.0}}
    assert run_all.limit_fraction(row, probe) == "50% / 30% BW"


def _probe(capability, mkl, onednn, read):
    return {"capability": capability, "isa_env": {"ONEDNN_MAX_CPU_ISA": "AVX2" if capability == "AVX2" else ""},
            "threads": 2, "flags": ["avx2", "avx512f"], "gemm_gflops": {"mkl": mkl, "onednn": onednn},
            "gemm_peak_gflops": max(mkl, onednn), "bandwidth_gbs": {"read": read, "copy": read / 2}}


def test_report_has_both_columns_the_limits_the_failures_and_a_chart(run_all, tmp_path):
    def row(ours, peer, target, **work):
        return run_all.normalise({"ours": ours, "peer": peer, "unit": "x/s", "ratio": ours / peer, "target": target,
                                  **work})

    columns = {
        "native": {"probe": _probe("AVX512", 200.0, 400.0, 40.0), "seconds": {"alpha": 1.0},
                   "results": {"alpha": {"train": row(20.0, 10.0, 1.5, flops_per_unit=4e9),
                                         "decode": row(50.0, 40.0, 1.0, bytes_per_unit=4e8)}},
                   "errors": {"gamma": "Traceback: boom"}},
        "avx2": {"probe": _probe("AVX2", 100.0, 80.0, 40.0), "seconds": {"alpha": 2.0},
                 "results": {"alpha": {"train": row(10.0, 10.0, 1.5, flops_per_unit=4e9),
                                       "decode": row(60.0, 40.0, 1.0, bytes_per_unit=4e8)}},
                 "errors": {}, "skipped": {"peerless": "no bench environment at /x"}},
    }
    out = run_all.write_report(columns, True, tmp_path, "python bench/run_all.py --quick")
    text = out.read_text()
    assert "| native | (none) | AVX512 | 200 | 400 | 40.0 | 20.0 |" in text
    assert "| avx2 | ONEDNN_MAX_CPU_ISA=AVX2 | AVX2 | 100 | 80 | 40.0 | 20.0 |" in text
    assert "CPU flags (/proc/cpuinfo): avx2 avx512f" in text
    # train: 20 ex/s x 4 GFLOP = 80 GFLOPS of a 400 peak (20%); peer 10 x 4 / 400 = 10%; AVX2 column vs 100
    assert "| train | x/s | 1.50 | 20 | 10 | 2.00 | 10 | 10 | 1.00 | **no** | 20% / 10% GEMM ; 40% / 40% GEMM |" in text
    # decode: 50 tok/s x 0.4 GB = 20 GB/s of 40 (50%)
    assert "| decode | x/s | 1.00 | 50 | 40 | 1.25 | 60 | 40 | 1.50 | yes | 50% / 40% BW ; 60% / 40% BW |" in text
    assert "## gamma [native]: FAILED" in text and "boom" in text
    assert "## peerless [avx2]: skipped\n\nno bench environment at /x" in text
    assert (tmp_path / "benchmarks.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "benchmarks.json").read_text())
    assert saved["columns"]["avx2"]["results"]["alpha"]["train"]["ratio"] == 1.0 and saved["quick"] is True


def test_avx2_column_sets_the_three_isa_variables(run_all):
    assert run_all.COLUMNS["avx2"] == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                       "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    assert run_all.COLUMNS["native"] == {}


def test_unknown_script_name_is_a_usage_error(run_all, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(["--only", "no_such_bench"])
    assert exit_info.value.code == 2
    assert "no_such_bench" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_all.main(["--columns", "avx3"])


def test_the_avx2_emulation_really_changes_torch_kernels(run_all):
    """The variables take effect in a fresh process: torch reports the AVX2 capability there."""
    import os
    import subprocess

    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {**os.environ, **run_all.COLUMNS["avx2"]}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "AVX2"
