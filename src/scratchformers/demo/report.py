"""The demo's printed summary and its one-page ``report.html`` linking every figure."""

from __future__ import annotations

import html
from pathlib import Path

from scratchformers.demo.settings import DemoRun, section


def summary_lines(run: DemoRun) -> list[str]:
    r = run.results
    byte_rows = [row for row in r["tokenizer"]["rows"] if row["kind"] == "bytelevel"]
    tok = min(byte_rows, key=lambda row: abs(row["vocab_size"] - r["tokenizer"]["vocab_size"]))  # the closest size
    gen = {(row["model"], row["strategy"]): row for row in r["generate"]["rows"]}
    greedy = {m: gen[(m, "greedy")]["repeated_3gram_rate"] for m in ("our GPT", "SmolLM2")}
    val = r["pretrain"]["val_loss"]
    doctor = ", ".join(f"{name}: {d['failures']} failures, {d['warnings']} warnings" for name, d in r["doctor"].items())
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items())
    return [
        f"tokenizer   byte-level BPE vocab {r['tokenizer']['vocab_size']}; at vocab {tok['vocab_size']}: "
        f"{tok['bytes_per_token']:.2f} bytes/token on held-out snippets",
        f"pretrain    GPT {r['pretrain']['parameters']:,} params, {r['pretrain']['steps']} steps: "
        f"train loss {r['pretrain']['first_train_loss']:.2f} -> {r['pretrain']['final_train_loss']:.2f}, "
        f"val loss {val[-1][1]:.2f}",
        f"generate    greedy repeated-3gram rate: our GPT {greedy['our GPT']:.2f}, SmolLM2 {greedy['SmolLM2']:.2f}",
        f"finetune    MiniLM sentiment accuracy {r['finetune']['accuracy']:.3f} on {r['finetune']['test_examples']} "
        f"test snippets ({r['finetune']['steps']} steps)",
        f"attention   {len(r['attention']['tokens'])} tokens, {run.results['attention']['html']}",
        f"doctor      {doctor}",
        f"time        {sum(run.timings.values()):.0f} s on {run.device} ({timings})",
    ]


def print_summary(run: DemoRun) -> None:
    section("summary")
    for line in summary_lines(run):
        print(line)
    print(f"report: {run.path('report.html')}")


def _pre(text: str, css_class: str = "") -> str:
    attribute = f" class='{css_class}'" if css_class else ""
    return f"<pre{attribute}>{html.escape(text)}</pre>"


def _img(src: str, alt: str) -> str:
    return f'<a href="{src}"><img src="{src}" alt="{html.escape(alt)}"></a>'


def _cause_fix(finding: dict) -> str:
    """The doctor's advice for one finding (escaped): its likely cause, then the fix."""
    parts = []
    if finding.get("cause"):
        parts.append(f"<span class='cause'>{html.escape(finding['cause'])}</span>")
    if finding.get("fix"):
        parts.append(f"<span class='fix'><b>fix:</b> {html.escape(finding['fix'])}</span>")
    return "<br>".join(parts)


def doctor_table(doctor: dict[str, dict]) -> str:
    """One row per finding of every target: the check, its status, the evidence and the cause / fix."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(f['id'])}</td>"
        f"<td class='{html.escape(f['status'])}'>{html.escape(f['status'])}</td>"
        f"<td>{html.escape(f['message'])}</td><td class='advice'>{_cause_fix(f)}</td></tr>"
        for name, d in doctor.items() for f in d["findings"]
    )  # fmt: skip
    return ("<table class='doctor'><tr><th>target</th><th>check</th><th>status</th><th>evidence</th>"
            f"<th>cause / fix</th></tr>{rows}</table>")


def write_report(run: DemoRun) -> Path:
    """A standalone HTML page (no network): the summary, every table, and links to the figures."""
    r = run.results
    gen_rows = "".join(
        f"<tr><td>{html.escape(g['model'])}</td><td>{html.escape(g['strategy'])}</td><td>{g['distinct_2']:.2f}</td>"
        f"<td>{g['repeated_3gram_rate']:.2f}</td><td>{html.escape(g['prompt'])} <b>{html.escape(g['text'])}</b></td></tr>"
        for g in r["generate"]["rows"]
    )
    body = [
        f"<h1>scratchformers demo ({run.settings.name})</h1>",
        "<h2>Summary</h2>", _pre("\n".join(summary_lines(run)), "summary"),
        "<h2>1. Tokenizer: the vocabulary-size trade-off</h2>", _pre(r["tokenizer"]["table"]),
        _img(r["tokenizer"]["plot"], "trade-off"),
        "<h2>2. Pretraining a small GPT</h2>",
        _pre("\n".join(f"step {step}: val loss {loss:.3f}" for step, loss in r["pretrain"]["val_loss"])),
        _img(r["pretrain"]["plot"], "GPT loss curve"),
        "<h2>3. Decoding strategies</h2>",
        "<table><tr><th>model</th><th>strategy</th><th>distinct-2</th><th>repeated 3-grams</th>"
        f"<th>prompt + <b>continuation</b></th></tr>{gen_rows}</table>",
        "<h2>4. Fine-tuning MiniLM for sentiment</h2>",
        f"<p>accuracy <b>{r['finetune']['accuracy']:.3f}</b>, macro-F1 {r['finetune']['macro_f1']:.3f} on "
        f"{r['finetune']['test_examples']} test snippets</p>", _pre(r["finetune"]["confusion"]),
        _img(r["finetune"]["plot"], "confusion matrix"), _img(r["finetune"]["curves"], "fine-tuning curves"),
        "<h2>5. Attention</h2>",
        f'<p><a href="{r["attention"]["html"]}">interactive attention view (head view + model view)</a></p>',
        _img(r["attention"]["plot"], "attention heatmap"),
        "<h2>6. Doctor</h2>",
        doctor_table(r["doctor"]),
    ]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "img{max-width:100%;border:1px solid #ddd;margin:.5em 0}pre{background:#f6f6f6;padding:.8em;"
             "overflow-x:auto}pre.summary{white-space:pre-wrap;overflow-wrap:anywhere}"  # long lines wrap
             "table{border-collapse:collapse;font-size:90%;width:100%}td,th{border:1px solid #ddd;"
             "padding:4px;vertical-align:top;overflow-wrap:anywhere}td.advice{min-width:16em}.fix{color:#245}"
             ".ok{color:green}.warn{color:#b80}.fail{color:red;font-weight:bold}"
             ".skip{color:gray}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>scratchformers demo</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
    path = run.path("report.html")
    path.write_text(page, encoding="utf-8")
    return path
