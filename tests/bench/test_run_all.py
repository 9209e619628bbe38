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
    assert row == {"ours": 2.0, "peer": 4.0, "ratio": 2.0, "unit": "s", "target": 1.5, "notes": ""}
    hand = run_all.normalise({"ours": 5, "peer": 4, "ratio": 1.25, "target": None, "same_tokens": True})
    assert hand["unit"] == "" and hand["target"] is None and hand["notes"] == "same_tokens=True"
    assert run_all.met(hand) == "n/a"
    assert run_all.met(row) == "yes" and run_all.met({**row, "ratio": 1.0}) == "**no**"
    with pytest.raises(ValueError, match="ratio"):
        run_all.normalise({"ours": 1.0, "peer": 1.0})


def test_report_has_every_row_the_failures_and_a_chart(run_all, tmp_path):
    results = {
        "alpha": {"fast case": run_all.normalise({"ours": 1.0, "peer": 3.0, "unit": "s", "ratio": 3.0, "target": 1.0})},
        "beta": {"slow case": run_all.normalise({"ours": 4.0, "peer": 1.0, "unit": "s", "ratio": 0.25, "target": 0.5})},
    }
    out = run_all.write_report(results, {"gamma": "Traceback: boom"}, {"alpha": 1.0, "beta": 2.0}, True, tmp_path)
    text = out.read_text()
    assert "| fast case | 1 | 3 | s | 3.00 | 1.00 | yes |" in text
    assert "| slow case | 4 | 1 | s | 0.25 | 0.50 | **no** |" in text
    assert "## gamma: FAILED" in text and "boom" in text
    assert (tmp_path / "benchmarks.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "benchmarks.json").read_text())
    assert saved["results"]["beta"]["slow case"]["ratio"] == 0.25 and saved["quick"] is True


def test_unknown_script_name_is_a_usage_error(run_all, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(["--only", "no_such_bench"])
    assert exit_info.value.code == 2
    assert "no_such_bench" in capsys.readouterr().err
