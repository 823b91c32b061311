"""Guards of a run: checks made before any cell runs, unique run ids, row writes that fail
cleanly (one line, exit 2) instead of with a traceback."""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench.api.errors import BenchError, ConfigError
from bench.api.registry import SHIFTS
from bench.engine.store import ResultStore
from bench.suites.base import Severities, Suite


def check_severities(suites: list[Suite], chosen: Severities) -> None:
    """Each chosen severity must be a level of some shift of the suites (else exit 2)."""
    if chosen is None or isinstance(chosen, str):
        return
    levels = set()
    for suite in suites:
        for spec in suite.cells("all"):
            for seg in spec.stream_segments():
                if seg.shift != "clean" and seg.shift in SHIFTS:
                    levels.update(lv for lv in SHIFTS.get(seg.shift).levels if lv > 0)
    bad = [s for s in chosen if s not in levels]
    if bad:
        raise ConfigError(f"--severity {','.join(map(str, bad))} is not a level of any shift of "
                          f"{', '.join(s.name for s in suites)}",
                          f"valid levels: {','.join(map(str, sorted(levels))) or 'none'} or all")


def check_out(out: Path) -> None:
    """`out` must be a folder this process can write: checked before any cell runs."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    probe = out / "cells" if (out / "cells").is_dir() else out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"--out {out}: {probe} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        raise ConfigError(f"--out {out} cannot be written: {err.strerror or err}") from err


def new_run_id(git_sha: str) -> str:
    """Unique per run: UTC time to the microsecond, the PID and a random suffix."""
    now = datetime.now(timezone.utc)
    return (f"{now:%Y%m%dT%H%M%S.%f}-p{os.getpid()}{secrets.token_hex(2)}-"
            f"{git_sha[:8] or 'nogit'}")


def write_row(store: ResultStore, row: dict, trace, outcomes) -> None:
    try:
        store.write(row, trace, outcomes)
    except OSError as err:
        raise BenchError(f"cannot write results to {store.root}: {err.strerror or err}",
                         "free space or fix permissions, then run the same command again "
                         "(finished cells are kept)") from err
