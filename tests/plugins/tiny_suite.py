"""Test plugin: `tiny-c`, a 12-image Karpathy-format dataset under $BENCH_TINY_ROOT."""

from __future__ import annotations

import os
from pathlib import Path

from bench.api import register_suite
from bench.data.karpathy import load_karpathy
from bench.suites.base import CellSpec, Suite


def _load(ctx):
    root = Path(os.environ["BENCH_TINY_ROOT"])
    return load_karpathy(root / "dataset_tiny.json", root / "images", split="test", name="tiny")


register_suite("tiny-c")(Suite(
    name="tiny-c", version="1", description="a tiny corrupted suite for tests",
    loaders={"tiny": _load},
    make_cells=lambda sev: [CellSpec("tiny", "i2t", "gaussian_noise", 5),
                            CellSpec("tiny", "i2t", "fog", 5),
                            CellSpec("tiny", "t2i", "ci", 7)],
    default_model="mini-clip", default_pretrained=None, embedded=True))
