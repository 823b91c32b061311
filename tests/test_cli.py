"""Bad input gets one line and exit code 2; `list` shows bench's and plugins' entries."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_run import PLUGINS, cli, smoke_run

from bench.engine.store import ResultStore

ROOT = Path(__file__).resolve().parent.parent


def _one_line_error(code: int, err: str) -> str:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, expected", [
    (("run", "--method", "nope", "--suite", "smoke"), "unknown method 'nope'"),
    (("run", "--method", "tent", "--suite", "nope"), "unknown suite 'nope'"),
    (("run", "--method", "tent", "--suite", "coco-c"), "needs --data-root"),
    (("run", "--method", "tent", "--suite", "coco-c", "--data-root", "/does/not/exist"),
     "does not exist"),
    (("run", "--method", "tent", "--suite", "smoke", "--set", "tent.nope=1"), "no option nope"),
    (("run", "--method", "tent", "--suite", "smoke", "--set", "tent.lr=fast"), "expects float"),
    (("run", "--method", "tent", "--suite", "smoke", "--severity", "high"),
     "argument --severity: bad value 'high'"),
    (("run", "--method", "tent", "--suite", "smoke", "--plugin", "/no/such/plugin.py"),
     "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, expected):
    code, out, err = cli(*argv, "--out", tmp_path)
    assert expected in _one_line_error(code, err)
    assert not (tmp_path / "cells").exists()  # nothing half-written


def test_unknown_method_lists_known_ones(tmp_path):
    code, _, err = cli("run", "--method", "nope", "--suite", "smoke", "--out", tmp_path)
    line = _one_line_error(code, err)
    assert "known:" in line and "tent" in line and "source" in line


def test_unreadable_checkpoint(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")
    for pretrained, expected in ((bad, "unreadable checkpoint"),
                                 (tmp_path / "missing.pt", "not found")):
        code, _, err = cli("run", "--method", "source", "--suite", "smoke", "--pretrained",
                           pretrained, "--out", tmp_path / "res", "--limit", "8")
        assert expected in _one_line_error(code, err)
        assert ResultStore(tmp_path / "res").read().empty


def test_offline_tag_names_the_flag(tmp_path):
    code, _, err = cli("run", "--method", "source", "--suite", "smoke", "--model", "ViT-B-32",
                       "--pretrained", "openai", "--out", tmp_path, "--limit", "8")
    line = _one_line_error(code, err)
    assert "--pretrained PATH" in line


def test_list_methods_shows_builtin_and_plugin_file():
    code, out, _ = cli("list", "methods", "--plugin", PLUGINS / "flaky.py")
    assert code == 0
    names = {line.split()[0] for line in out.splitlines()}
    assert {"source", "tent", "flaky"} <= names


def test_list_other_kinds():
    for kind, expected in (("suites", "smoke"), ("shifts", "gaussian_noise"),
                           ("models", "mini-clip")):
        code, out, _ = cli("list", kind)
        assert code == 0 and expected in out
    _, out, _ = cli("list", "shifts")
    formal = next(line for line in out.splitlines() if line.startswith("formal"))
    assert "unavailable" in formal and "text" in formal


def test_entry_point_plugin_installed_and_run(tmp_path):
    """A third-party package adds a method through the `bench.methods` entry point."""
    target, source = tmp_path / "site", tmp_path / "plugin_pkg"
    shutil.copytree(ROOT / "tests" / "plugin_pkg", source)  # pip leaves build files behind
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(source)], check=True, capture_output=True)
    env = {"PYTHONPATH": f"{target}:{ROOT}", "PATH": "/usr/bin:/bin",
           "BENCH_OFFLINE": "1", "TQDM_DISABLE": "1"}
    env = {**os.environ, **env}
    listing = subprocess.run([sys.executable, "-m", "bench", "list", "methods"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "tiny-tent" in listing and "entry point" in listing
    run = subprocess.run([sys.executable, "-m", "bench", "run", "--method", "tiny-tent",
                          "--suite", "smoke", "--pretrained", "random", "--limit", "32",
                          "--workers", "1", "--out", str(tmp_path / "res")], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    df = ResultStore(tmp_path / "res").read()
    assert set(df.method) == {"tiny-tent"} and set(df.status) == {"ok"}


def test_quiet_prints_only_the_final_line(tmp_path):
    code, out, err = smoke_run(tmp_path, "--quiet", methods="source", limit=16)
    assert code == 0 and len(out.strip().splitlines()) == 1 and out.startswith("done:")


def test_perf_build_reports_rounds_and_median():
    code, out, _ = cli("perf", "build", "--images", "1", "--repeat", "2", "--workers", "2")
    assert code == 0
    assert "corrupting 80 images" in out
    assert out.count("round ") == 2 and "median: serial" in out and "speed-up" in out
    busy = [float(x) for x in re.findall(r"= ([0-9.]+) cores busy", out)]
    assert len(busy) == 2 and all(0 < b <= 2.05 for b in busy)  # at most the 2 workers
    assert re.search(r"\(([0-9.]+) of 2 cores busy\)", out)
    code, _, err = cli("perf", "build", "--repeat", "0")
    assert code == 2 and "argument --repeat: must be at least 1, got 0" in err
