"""The README's ```bash and ```python blocks run as written, on a copy of what `make setup` gives.

How (so a README edit keeps this test honest):

* Every block runs in a fresh temporary folder. The Python blocks run in order in one interpreter (the
  second block continues the tour's session). The bash blocks run with ``bash -e -o pipefail``; their
  ``source .venv/bin/activate`` finds a stand-in ``.venv`` that puts this interpreter's ``python`` and a
  ``scratchformers`` wrapper first on PATH, which is what the real activate script does.
* Quick sizes: ``QUICK`` lists exact README snippets and the smaller sizes the test uses instead (fewer
  steps, tokens and vocabulary entries; the same command, options and code paths). Each snippet must
  still be in the README, so the substitution can never silently stop applying.
* Skips: a block preceded by ``<!-- readme-test: skip: WHY -->`` is not run (the reason is in the
  README); ``SKIPPED_LINES`` lists the few long-run lines left out, each with its reason.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"(?:<!-- readme-test: skip: (?P<why>[^>]+) -->\n)?```(?P<lang>bash|python)\n(?P<code>.*?)```",
                   re.S)

QUICK = {
    # python tour: a smaller tokenizer and 8 tokens instead of 32
    "vocab_size=2000)": "vocab_size=300)",
    "max_new_tokens=32,": "max_new_tokens=8,",
    # bash: the same commands, smaller sizes
    "--vocab-size 8192": "--vocab-size 400",
    "--vocab-sizes 1000,4000,16000": "--vocab-sizes 300,500 --kinds bpe",
    '"The movie was" --strategy sample --top-p 0.9 --stream': '"The movie was" --strategy sample --top-p 0.9 '
                                                              '--stream --max-new-tokens 4',
    '"The movie was" --compare': '"The movie was" --compare --max-new-tokens 3',
    "train --preset char-gpt": "train --preset char-gpt --max-steps 2 --eval-every 2 --eval-batches 1 "
                               "--progress false --plot false",
}

SKIPPED_LINES = {
    # the fine-tuning run evaluates every epoch and then 1,280 test reviews with MiniLM even for 2 steps
    # (about a minute on a loaded 2-core machine); tests/training covers finetune/evaluate on tiny models
    "scratchformers finetune minilm": "minutes even with --max-steps 2",
    "scratchformers evaluate runs/finetune-full": "needs the fine-tuning run above",
    # 50 s on 2 cores: every doctor check runs SmolLM2 forward and backward several times; tests/doctor runs
    # `doctor model` on the packaged MiniLM, the same code path
    "scratchformers doctor model smollm2-135m": "about 50 s",
    # converting dequantises 135M parameters and writes 540 MB; tests/hub converts GGUF files in the suite
    "scratchformers convert smollm2-135m": "writes 540 MB",
}


def _blocks():
    text = README.read_text(encoding="utf-8")
    for snippet in QUICK:
        assert snippet in text, f"QUICK snippet {snippet!r} is no longer in the README; update the test"
    for line in SKIPPED_LINES:
        assert line in text, f"skipped line {line!r} is no longer in the README; update the test"
    return [(m["lang"], m["code"], m["why"]) for m in FENCE.finditer(text)]


def _quick(code: str) -> str:
    for snippet, replacement in QUICK.items():
        code = code.replace(snippet, replacement)
    return code


def _environment(tmp_path: Path) -> dict:
    """A stand-in for the .venv `make setup` creates: activate puts python and scratchformers on PATH."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrappers = {"python": f'exec "{sys.executable}" "$@"',
                "scratchformers": f'exec "{sys.executable}" -m scratchformers "$@"'}
    for name, body in wrappers.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
                MPLBACKEND="Agg", PYTHONIOENCODING="utf-8")


def test_readme_has_the_blocks_this_test_runs():
    kinds = [lang for lang, _, why in _blocks() if not why]
    assert kinds.count("python") == 2 and kinds.count("bash") == 2


def test_python_blocks_run_as_written(tmp_path):
    code = "\n".join(_quick(code) for lang, code, why in _blocks() if lang == "python" and not why)
    script = tmp_path / "tour.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the tour wrote" in result.stdout and "attention.html" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [".venv", "tour.py"]  # nothing outside its temp folder


@pytest.mark.parametrize("index", [0, 1], ids=["commands", "longer-runs"])
def test_bash_blocks_run_as_written(tmp_path, index):
    blocks = [code for lang, code, why in _blocks() if lang == "bash" and not why]
    lines = [line for line in _quick(blocks[index]).splitlines()
             if not any(line.startswith(skipped) for skipped in SKIPPED_LINES)]
    script = tmp_path / "block.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = _environment(tmp_path)
    if index == 1:  # the longer runs start from the corpus the first block wrote: run that line first
        corpus_line = next(line for line in blocks[0].splitlines() if line.startswith("python") and "corpus.txt" in line)
        script.write_text(f"source .venv/bin/activate\n{corpus_line}\n" + script.read_text(), encoding="utf-8")
    result = subprocess.run(["bash", "-e", "-o", "pipefail", str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
