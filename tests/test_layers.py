"""The layering of the code base (docs/architecture.md) holds: the import-linter contracts in
pyproject.toml ([tool.importlinter]) are kept, so `python -m pytest` enforces them in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ("import sys; from importlinter.cli import lint_imports; "
       "sys.exit(lint_imports(no_cache=True, no_logo=True))")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("importlinter")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, "-c", RUN], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_import_contracts_are_kept():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    """The contracts can fail: a copy of the tree where the plugin contract imports the engine
    (an upward import) and the core imports a method package is refused, naming both."""
    for name in ("corruptions", "baselines", "methods"):
        (tmp_path / name).symlink_to(ROOT / name)
    bench = tmp_path / "bench"
    shutil.copytree(ROOT / "bench", bench, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    errors = bench / "api" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport bench.engine.store  # noqa\nimport baselines  # noqa\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "bench.api.errors -> bench.engine.store" in out.stdout
    assert "bench.api.errors -> baselines" in out.stdout
