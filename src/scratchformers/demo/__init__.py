"""The end-to-end demo: the whole package at work on the packaged assets, offline.

``run_demo(DemoSettings.full(), out_dir)`` runs six steps, one small function each, and writes
everything into ``out_dir``:

1. ``step_tokenizer``  train byte-level BPE tokenizers on Rotten Tomatoes; vocabulary-size trade-off
2. ``step_pretrain``   pretrain a small GPT on the same snippets with that tokenizer (loss curve)
3. ``step_generate``   greedy / top-k / top-p / beam search from our GPT and SmolLM2-135M, with
                       repetition scores
4. ``step_finetune``   fine-tune MiniLM for sentiment; accuracy and the confusion matrix
5. ``step_attention``  MiniLM's attention on a sample sentence (PNG heatmap + interactive HTML)
6. ``step_doctor``     the doctor on the trained GPT, the fine-tuned MiniLM and the tokenizer

and ends with ``report.html``, one page that links every figure. The steps share a
:class:`DemoRun` (settings, output folder, device, results so far).
"""

from scratchformers.demo.report import print_summary, summary_lines, write_report
from scratchformers.demo.run import run_demo
from scratchformers.demo.settings import ASSETS_NEEDED, DemoRun, DemoSettings, check_assets

__all__ = [
    "ASSETS_NEEDED",
    "DemoRun",
    "DemoSettings",
    "check_assets",
    "print_summary",
    "run_demo",
    "summary_lines",
    "write_report",
]
