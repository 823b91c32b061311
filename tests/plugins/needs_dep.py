"""Test plugin whose own dependency is not installed."""

from __future__ import annotations

import bench_missing_dependency_xyz  # noqa: F401
