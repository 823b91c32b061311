"""Run the CLI in-process and capture what a user would see."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from bench.cli import main

PLUGINS = Path(__file__).parent / "plugins"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def smoke_run(out: Path, *extra: str, methods: str = "source,tent",
              limit: int = 64) -> tuple[int, str, str]:
    """A quick smoke-suite run on randomly initialised weights (for tests only)."""
    return cli("run", "--method", methods, "--suite", "smoke", "--pretrained", "random",
               "--out", out, "--limit", str(limit), "--workers", "1", *extra)
