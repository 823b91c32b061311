"""The committed leaderboard is what its command makes from the committed results."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers_run import cli, smoke_run

from bench.engine.store import ResultStore
from bench.report.leaderboard import build
from bench.report.render import render

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results" / "embedded"  # the committed leaderboard (`make results`)


def _headings(markdown: str) -> list[str]:
    """Table structure: headings and header rows, without numbers."""
    keep = [line for line in markdown.splitlines() if line.startswith("#") or
            (line.startswith("| method") or line.startswith("| variant"))]
    keep = [line for line in keep if not line.startswith("### Δ")]  # only with outcomes
    # counts, seeds, the --limit flag and whether there are intervals vary; the shape does not
    return [re.sub(r"\d+ result rows.*|LIMITED RUN \(.*?\); ", "", line) for line in keep]


def test_committed_leaderboard_regenerates_exactly(tmp_path):
    out = tmp_path / "LEADERBOARD.md"
    code, _, _ = cli("leaderboard", RESULTS, "--out", out)
    assert code == 0
    assert out.read_text() == (RESULTS / "LEADERBOARD.md").read_text()


def test_committed_results_cover_every_method_and_embedded_suite():
    df = ResultStore(RESULTS).read()
    assert {"source", "tent", "eata", "sar", "read", "deyo", "tcr", "rest"} <= set(df.method)
    assert {"smoke", "mini-clean", "mini-c", "mini-pedes", "mini-pedes-c",
            "mini-diverse"} <= set(df.suite)
    assert (df.status == "ok").mean() > 0.95
    assert df.groupby(["cell_id"]).size().max() == 1


def test_generated_sections_of_readme_and_docs_are_up_to_date():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "update_readme.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_fresh_smoke_results_render_the_committed_table_structure(tmp_path):
    """Running the smoke suite again gives tables of the same shape as the committed ones."""
    code, _, _ = smoke_run(tmp_path, methods="source,tent", limit=32)
    assert code == 0
    fresh = render(build(ResultStore(tmp_path).read(), "r1", ["smoke"]), "md")
    committed = ResultStore(RESULTS).read()
    committed = committed[committed.method.isin(["source", "tent"])]
    reference = render(build(committed, "r1", ["smoke"]), "md")
    strip = [re.sub(r"model mini-clip/\S+", "", h) for h in _headings(fresh)]
    assert strip == [re.sub(r"model mini-clip/\S+", "", h) for h in _headings(reference)]
