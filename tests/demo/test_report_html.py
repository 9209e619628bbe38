"""report.html's doctor table carries the doctor's cause and fix, escaped, and the summary wraps
(issue 18, item 9). Parsed with html5lib, the HTML5 parsing algorithm browsers use."""

import html5lib

from scratchformers.demo.report import doctor_table, write_report
from scratchformers.doctor.findings import Finding

NS = {"h": "http://www.w3.org/1999/xhtml"}
HOSTILE = "<script>alert(1)</script> & <b>"


def _findings():
    return {
        "our GPT": {"findings": [
            Finding("attention.causal", "fail", f"token 3 sees {HOSTILE}", cause="the mask is flipped",
                    fix="use causal_mask(T) (True = may attend)").to_dict(),
            Finding("init.std", "ok", "std 0.02").to_dict(),
        ]},
        "a <tokenizer>": {"findings": [Finding("tok.roundtrip", "warn", "lossy", cause=HOSTILE, fix="").to_dict()]},
    }  # fmt: skip


def _rows(page: str):
    tree = html5lib.parse(page)
    table = tree.find(".//h:table", NS)
    return [[("".join(cell.itertext())) for cell in row] for row in table.iterfind(".//h:tr", NS)], tree


def test_doctor_table_has_cause_and_fix_cells_with_text_escaped():
    rows, tree = _rows(f"<!doctype html><html><body>{doctor_table(_findings())}</body></html>")
    assert rows[0] == ["target", "check", "status", "evidence", "cause / fix"]
    body = rows[1:]
    assert all(len(r) == 5 for r in body)
    assert body[0][4] == "the mask is flippedfix: use causal_mask(T) (True = may attend)"
    assert body[0][3] == f"token 3 sees {HOSTILE}"  # the markup arrives as text, not as elements
    assert body[1][4] == ""  # a passing check has no advice
    assert body[2][0] == "a <tokenizer>" and body[2][4] == HOSTILE
    assert tree.find(".//h:script", NS) is None
    assert [b.text for b in tree.iterfind(".//h:b", NS)] == ["fix:"]  # the only element inside: ours


def test_report_summary_wraps(tmp_path):
    class Run:  # the fields write_report reads, from a finished run
        settings = type("S", (), {"name": "quick"})()
        timings = {"doctor": 1.0}
        device = "cpu"
        results = {
            "tokenizer": {"rows": [{"kind": "bytelevel", "vocab_size": 300, "bytes_per_token": 2.0}], "vocab_size": 300,
                          "table": "t", "plot": "a.png"},
            "pretrain": {"parameters": 10, "steps": 1, "first_train_loss": 5.0, "final_train_loss": 4.0,
                         "val_loss": [(1, 4.5)], "plot": "b.png"},
            "generate": {"rows": [{"model": m, "strategy": "greedy", "repeated_3gram_rate": 0.1, "distinct_2": 0.9,
                                   "prompt": "p", "text": "t"} for m in ("our GPT", "SmolLM2")]},
            "finetune": {"accuracy": 0.5, "macro_f1": 0.5, "test_examples": 10, "steps": 2, "confusion": "c",
                         "plot": "c.png", "curves": "d.png"},
            "attention": {"tokens": ["a"], "html": "attention.html", "plot": "e.png"},
            "doctor": {name: {**d, "failures": 1, "warnings": 1} for name, d in _findings().items()},
        }  # fmt: skip

        def path(self, name):
            return tmp_path / name

    page = write_report(Run()).read_text(encoding="utf-8")
    tree = html5lib.parse(page)
    summary = tree.find(".//h:pre", NS)
    assert summary.get("class") == "summary" and "doctor      our GPT: 1 failures" in summary.text
    style = tree.find(".//h:style", NS).text
    assert "pre.summary{white-space:pre-wrap;overflow-wrap:anywhere}" in style
    rows, _ = _rows(page.replace(page[page.index("<h2>3."):page.index("<h2>6.")], ""))  # the doctor table only
    assert rows[0][-1] == "cause / fix" and rows[1][4].startswith("the mask is flipped")
