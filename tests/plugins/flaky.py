"""Test plugin (loaded with --plugin): methods that fail or interrupt on purpose."""

from __future__ import annotations

import os
from dataclasses import dataclass

from baselines.source import Source
from bench.api import register_method


@register_method("flaky")
class Flaky(Source):
    """flaky: the source model, but raises on text queries (a failing cell)."""

    name = "flaky"

    @dataclass
    class Config:
        pass

    def adapt(self, batch):
        if self.ctx.direction == "t2i":
            raise RuntimeError("flaky method fails on t2i on purpose")
        return super().adapt(batch)


@register_method("interrupter")
class Interrupter(Source):
    """interrupter: the source model; Ctrl-C once the marker file's count of cells is reached."""

    name = "interrupter"

    @dataclass
    class Config:
        pass

    def setup(self, model, ctx):
        super().setup(model, ctx)
        marker = os.environ.get("BENCH_TEST_INTERRUPT_AFTER")
        if marker:
            path, limit = marker.split(":")
            count = int(open(path).read() or 0) if os.path.exists(path) else 0
            with open(path, "w") as f:
                f.write(str(count + 1))
            if count + 1 == int(limit):
                raise KeyboardInterrupt
