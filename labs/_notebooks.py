"""Execute the labs as notebooks and store them with their outputs (figures inline, printed text).

    cd labs && ../.venv/bin/python _notebooks.py            # every lab  (make lab-notebooks)
    cd labs && ../.venv/bin/python _notebooks.py 02 04      # some labs

Each ``NN_name.py`` (jupytext percent script, the source of truth) is read, run top to bottom in a
Jupyter kernel (nbclient) and written to its paired ``NN_name.ipynb`` with the outputs. The tests run
the same :func:`execute` in quick mode and check that every committed notebook holds its figures.
Labs 5 and 6 are stored in quick mode (fine-tuning MiniLM twice and generating with SmolLM2 take many
minutes on a CPU); the others run in full.
"""

import os
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

LABS = Path(__file__).resolve().parent
STORED_QUICK = ("05_bert_finetuning", "06_generation")
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def execute(source: Path, *, quick: bool, out: Path, timeout: int = 1800):
    """The lab ``source`` run in a fresh kernel (cwd ``labs/``); returns the notebook with its outputs."""
    os.environ["SCRATCHFORMERS_LAB_QUICK"] = "1" if quick else "0"  # the kernel inherits the environment
    os.environ["SCRATCHFORMERS_LAB_OUT"] = str(out)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(LABS), os.environ.get("PYTHONPATH", "")])
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = KERNEL
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(LABS)}}).execute()
    return notebook


def main(selected: list[str]) -> None:
    out = LABS.parent / "runs" / "labs"
    for source in sorted(LABS.glob("[0-9][0-9]_*.py")):
        if selected and not any(source.stem.startswith(s) for s in selected):
            continue
        quick = source.stem in STORED_QUICK
        print(f"executing {source.name} ({'quick' if quick else 'full'} mode)", flush=True)
        notebook = execute(source, quick=quick, out=out)
        for cell in notebook.cells:  # execution counts and timings change on every run: keep diffs small
            cell.metadata.pop("execution", None)
        nbformat.write(notebook, source.with_suffix(".ipynb"))


if __name__ == "__main__":
    main(sys.argv[1:])
