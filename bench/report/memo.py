"""A results folder's memo of bootstrap statistics, keyed by everything they are computed from.

`stats.interval` and `stats.paired` are pure functions of their inputs: each stratum's key,
stream positions, per-query values and weight (in the sample's order), the random
generator's state when they start (whatever rule derived its seed), the number of
resamples and the level. The memo keys each result by a hash of exactly those inputs
(plus the numpy and scipy versions, whose generators and tests make the numbers), so a
memoised value is the value a fresh computation gives: a changed outcome, seed, resample
count or statistic is a different key and is computed afresh. Leaderboards of a large
store spend most of their time in these bootstraps; with the memo they read them back.

The memo lives next to the outcomes it summarises, in ``RESULTS/statistics.json`` (one
entry per line, sorted). It is only ever a shortcut: deleting it is always safe, and a
folder that cannot be written is read without one. `make tables` deletes it first so the
committed file holds exactly the entries its tables use.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy

from bench.files import atomic_write

FILE = "statistics.json"
FORMAT = 1
# the memo of one folder is valid only for the libraries whose draws and tests made it
VERSIONS = {"format": FORMAT, "numpy": np.__version__, "scipy": scipy.__version__}


class Memo:
    """Results keyed by input hashes, read from and saved to `path`."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, list] = {}
        self.new = 0
        self.hits = 0
        self._digests: dict[int, tuple[np.ndarray, bytes]] = {}
        if path.is_file():
            self.entries = _read(path)

    def digest(self, array: np.ndarray) -> bytes:
        """A hash of an array's dtype, shape and bytes, once per array object: a sample's
        strata are the same arrays in many tables and pairs."""
        hit = self._digests.get(id(array))
        if hit is not None and hit[0] is array:
            return hit[1]
        a = np.ascontiguousarray(array)
        h = hashlib.blake2b(f"{a.dtype.str}{a.shape}".encode(), digest_size=16)
        h.update(a.view(np.uint8).reshape(-1) if a.size else b"")
        self._digests[id(array)] = (array, h.digest())  # the reference keeps the id unique
        return h.digest()

    def key(self, kind: str, samples: tuple, rng: np.random.Generator, *params) -> str:
        h = hashlib.blake2b(digest_size=20)
        h.update(json.dumps([kind, rng.bit_generator.state, *params], sort_keys=True,
                            default=str).encode())
        for sample in samples:
            h.update(b"|sample")
            for stratum, (pos, vals, weight) in sample.items():
                h.update(repr(stratum).encode())
                h.update(self.digest(pos))
                h.update(self.digest(vals))
                h.update(repr(float(weight)).encode())
        return h.hexdigest()

    def get(self, key: str) -> list | None:
        value = self.entries.get(key)
        self.hits += value is not None
        return value

    def put(self, key: str, value: list) -> None:
        self.entries[key] = value
        self.new += 1

    def save(self) -> None:
        """Write the entries (merged with what another process wrote meanwhile) when any
        are new; a folder that cannot be written keeps no memo."""
        if not self.new:
            return
        merged = {**_read(self.path), **self.entries} if self.path.is_file() else self.entries
        lines = [json.dumps(VERSIONS, sort_keys=True)]
        lines += [json.dumps([k, merged[k]]) for k in sorted(merged)]
        text = "\n".join(lines) + "\n"
        try:
            atomic_write(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        except OSError:
            pass  # read-only or full: the numbers are the same, only slower next time


def _read(path: Path) -> dict[str, list]:
    """The entries of a memo file; none when it is unreadable or made by other libraries."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or json.loads(lines[0]) != VERSIONS:
            return {}
        return {k: v for k, v in map(json.loads, lines[1:])}
    except (OSError, ValueError, TypeError) as err:
        print(f"warning: ignoring unreadable statistics memo {path}: {err}", file=sys.stderr)
        return {}


_ACTIVE: Memo | None = None


def active() -> Memo | None:
    """The memo `stats` consults now (None: compute everything)."""
    return _ACTIVE


@contextmanager
def memo(results: str | Path) -> Iterator[Memo]:
    """Memoise the statistics computed inside the block in ``RESULTS/statistics.json``."""
    global _ACTIVE
    previous = _ACTIVE
    _ACTIVE = Memo(Path(results) / FILE)
    try:
        yield _ACTIVE
        _ACTIVE.save()
    finally:
        _ACTIVE = previous
