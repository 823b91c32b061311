"""Deterministic seeds and scoped control of the global RNGs that third-party code uses."""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator

import numpy as np


def seed_for(sample_id: object, name: str, level: int, base_seed: int = 0) -> int:
    """A stable 32-bit seed for one (sample, shift, severity, base seed).

    sha256 of a canonical string, not Python's ``hash()``, which is salted per process: the
    same benchmark built twice, on any machine, must draw the same corruptions.
    """
    key = f"{base_seed}\x1f{name}\x1f{int(level)}\x1f{sample_id}"
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def derive_seed(seed: int, attempt: int) -> int:
    """The seed of re-draw number ``attempt`` (attempt 0 is ``seed`` itself)."""
    if attempt == 0:
        return int(seed) & 0xFFFFFFFF
    digest = hashlib.sha256(f"redraw\x1f{int(seed)}\x1f{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Run a block with NumPy's legacy global RNG seeded, then restore its previous state.

    imagecorruptions and nlpaug draw from ``np.random.*``; seeding it for the block only keeps
    the corruption reproducible without disturbing whoever else uses the global stream.
    """
    saved = np.random.get_state()
    np.random.set_state(np.random.RandomState(seed).get_state())
    try:
        yield
    finally:
        np.random.set_state(saved)


@contextlib.contextmanager
def python_and_numpy_seed(seed: int) -> Iterator[None]:
    """Like :func:`numpy_global_seed`, and also seeds (then restores) the ``random`` module."""
    saved = random.getstate()
    random.seed(seed)
    try:
        with numpy_global_seed(seed):
            yield
    finally:
        random.setstate(saved)
