"""Test plugin: `slow`, the source model taking BENCH_TEST_SLEEP seconds per cell."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from baselines.source import Source
from bench.api import register_method


@register_method("slow")
class Slow(Source):
    """slow: the source model after a pause (to make runs overlap in tests)."""

    name = "slow"

    @dataclass
    class Config:
        pass

    def setup(self, model, ctx):
        super().setup(model, ctx)
        time.sleep(float(os.environ.get("BENCH_TEST_SLEEP", "1")))
