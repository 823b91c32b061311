"""The one way the report tools end: build the Markdown, print it, also write it to
`--out`; a `BenchError` is one line on stderr and exit code 2, nothing written."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api.errors import BenchError  # noqa: E402


def report(make_text: Callable[[], str], out: Path | None) -> int:
    try:
        text = make_text()
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(text)
    if out:
        out.write_text(text + "\n")
    return 0
