"""Every lab runs as a notebook in quick mode and shows its figures inline; the committed .ipynb
matches its .py source and is stored with its outputs (issue 18, item 8)."""

import importlib.util
import os
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

LABS = Path(__file__).resolve().parents[2] / "labs"
SOURCES = sorted(LABS.glob("[0-9][0-9]_*.py"))
_spec = importlib.util.spec_from_file_location("lab_notebooks", LABS / "_notebooks.py")
notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebooks)


def code_cells(notebook) -> list[str]:
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook) -> list[dict]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def figures_shown(source: Path) -> int:
    """How many figures the lab shows: its calls to ``show(fig, ...)`` (each saves and displays one)."""
    return len(re.findall(r"^show\(fig, ", source.read_text(encoding="utf-8"), re.M))


def texts(notebook) -> str:
    return "\n".join(out.get("text", "") + "".join(out.get("data", {}).get("text/plain", "")) for out in outputs(notebook))


def test_there_are_six_labs():
    assert len(SOURCES) == 6, [p.name for p in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_paired_notebook_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"run `make lab-notebooks` to create {paired.name}"
    assert code_cells(nbformat.read(paired, as_version=4)) == code_cells(jupytext.read(source)), (
        f"{paired.name} is out of date: run `make lab-notebooks` (or `cd labs && python _notebooks.py {source.stem[:2]}`)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_is_stored_with_its_figures(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    images = [out for out in outputs(notebook) if "image/png" in out.get("data", {})]
    assert figures_shown(source) >= 1
    assert len(images) == figures_shown(source), "every figure is displayed once, inline"
    assert all(out.get("output_type") != "error" for out in outputs(notebook))
    assert "IProgress not found" not in texts(notebook)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_lab_executes_in_quick_mode(source, tmp_path, monkeypatch):
    for name in ("SCRATCHFORMERS_LAB_QUICK", "SCRATCHFORMERS_LAB_OUT", "PYTHONPATH"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after execute() sets them
    notebook = notebooks.execute(source, quick=True, out=tmp_path, timeout=600)
    assert len(list(tmp_path.glob("*.png"))) == figures_shown(source), "each figure is also saved as a PNG"
    images = [out for out in outputs(notebook) if "image/png" in out.get("data", {})]
    assert len(images) == figures_shown(source), "figures are displayed inline under a kernel"
    assert "IProgress not found" not in texts(notebook)
