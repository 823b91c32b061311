"""Where bench keeps the files it generates (data, caches) and how it writes them.

Roots are overridable by environment. Writes are atomic: a temporary file in the same
folder, then a rename. `atomic_write` is the only way bench writes a result, trace or
cache file. Its temporary file is named ``.<name>.<pid>.tmp``: hidden, and never ending in
the final suffix, so no ``*.parquet`` / ``*.npy`` glob of a reader can match a file that a
killed writer left behind. `remove_leftovers` deletes those whose writer no longer runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path


def cache_home() -> Path:
    """Root of bench's caches: ``$BENCH_CACHE`` or ``~/.cache/bench``."""
    root = os.environ.get("BENCH_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "bench"


def data_home() -> Path:
    """Where the embedded (generated) datasets are written: ``$BENCH_DATA`` or ``<cache>/data``."""
    root = os.environ.get("BENCH_DATA")
    return Path(root).expanduser() if root else cache_home() / "data"


def package_assets() -> Path:
    """Files shipped inside the package (mini CLIP configs and checkpoints)."""
    return Path(__file__).parent / "assets"


# ---- atomic writes ----------------------------------------------------------------------

_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def temp_path(path: Path) -> Path:
    """Where `path` is written before its rename."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` and move ``tmp`` onto `path`; a reader sees all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (a zombie counts as gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie has exited and only waits for its parent to reap it
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def leftover_temps(folder: Path) -> list[Path]:
    """Temporary files in `folder` whose writing process has ended."""
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if m and not pid_alive(int(m.group(1))):
            out.append(p)
    return sorted(out)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete `leftover_temps(folder)`; returns what was removed."""
    removed = []
    for p in leftover_temps(folder):
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed
