"""Building the package metadata prints no setuptools deprecation warning (the old table form of
`project.license` printed one three times during `make setup`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_metadata_builds_without_the_license_deprecation(tmp_path):
    project = tmp_path / "project"  # a copy, so the build leaves no egg-info in the repository
    (project / "src" / "scratchformers").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    (project / "src" / "scratchformers" / "__init__.py").write_text("")
    out = tmp_path / "metadata"
    out.mkdir()
    code = f"import setuptools.build_meta as b; print(b.prepare_metadata_for_build_wheel({str(out)!r}))"
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=project, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    metadata = (out / result.stdout.strip().splitlines()[-1] / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata
    assert "deprecat" not in result.stderr.lower(), result.stderr[-2000:]
