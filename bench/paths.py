"""Where bench keeps what it generates: data, caches. Overridable by environment."""

from __future__ import annotations

import os
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
