"""The documentation site builds in MkDocs' strict mode: every page of the nav exists and
no link or anchor of a page points nowhere or out of docs/. The site is written to a
temporary folder, never into the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(config), "--site-dir", str(site)],
                          capture_output=True, text=True, cwd=config.parent)


def test_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    run = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "site" / "results" / "index.html").is_file()
    assert not (ROOT / "site").exists()


def test_a_broken_link_fails_the_build(tmp_path):
    """The strict build would catch a page linking to a file outside docs/."""
    pytest.importorskip("mkdocs")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "commands.md"
    page.write_text(page.read_text() + "\n[the tables](../results/embedded/LEADERBOARD.md)\n")
    run = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert run.returncode != 0
    assert "LEADERBOARD.md" in run.stdout + run.stderr
