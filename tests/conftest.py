"""Test settings: a private cache per session; generated data shared across sessions.

The embedded datasets are deterministic and versioned, so they are generated
once into the usual data folder and reused; gallery and query caches go to a
temporary folder so that no test reads another session's cache.
"""

from __future__ import annotations

import os
import tempfile

import pytest

_SESSION_CACHE = tempfile.mkdtemp(prefix="bench-test-cache-")
os.environ.setdefault("BENCH_DATA", os.path.join(os.path.expanduser("~"), ".cache", "bench", "data"))
os.environ["BENCH_CACHE"] = _SESSION_CACHE
os.environ["BENCH_OFFLINE"] = "1"  # never try the model hub from tests
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def session_cache() -> str:
    return _SESSION_CACHE
