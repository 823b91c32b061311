"""Test settings: a private cache per session; generated data shared across sessions.

The embedded datasets are deterministic and versioned, so they are generated
once into the usual data folder and reused; gallery and query caches go to a
temporary folder so that no test reads another session's cache; the folder is
removed when the session's process exits, so test runs leave nothing behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

_SESSION_CACHE = tempfile.mkdtemp(prefix="bench-test-cache-")
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)
os.environ.setdefault("BENCH_DATA", os.path.join(os.path.expanduser("~"), ".cache", "bench", "data"))
os.environ["BENCH_CACHE"] = _SESSION_CACHE
os.environ["BENCH_OFFLINE"] = "1"  # never try the model hub from tests
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def session_cache() -> str:
    return _SESSION_CACHE
