"""Reuse the student-written model of tests/doctor (loaded by path: tests are not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch


def _student_module():
    path = Path(__file__).parents[1] / "doctor" / "conftest.py"
    spec = importlib.util.spec_from_file_location("doctor_students", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def student_lm():
    torch.manual_seed(0)
    return _student_module().StudentLM().eval()
