"""Every lab runs as a notebook, in quick mode, and its committed .ipynb matches its .py source."""

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

LABS = Path(__file__).resolve().parents[2] / "labs"
SOURCES = sorted(LABS.glob("[0-9][0-9]_*.py"))


def code_cells(notebook) -> list[str]:
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]


def test_there_are_six_labs():
    assert len(SOURCES) == 6, [p.name for p in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_paired_notebook_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"run `jupytext --to ipynb {source}` to create {paired.name}"
    assert code_cells(nbformat.read(paired, as_version=4)) == code_cells(jupytext.read(source)), (
        f"{paired.name} is out of date: run `jupytext --sync {source}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_lab_executes_in_quick_mode(source, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHFORMERS_LAB_QUICK", "1")
    monkeypatch.setenv("SCRATCHFORMERS_LAB_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(LABS) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(LABS)}}).execute()
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, "each lab saves at least one figure"
