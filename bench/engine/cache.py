"""On-disk caches keyed by everything that determines their content.

Gallery embeddings are keyed by (model, weights hash, dataset fingerprint,
direction, preprocessing); query sets by (dataset fingerprint, shift and its
version, severity, corruption seed, preprocessing, which queries). Change any
part and the key changes: a stale entry is never read. Writes are atomic. A
cache that cannot be written (read-only, full disk, a file in its place) gives
one warning and the run goes on without writing it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.files import atomic_write, cache_home


def cache_key(parts: dict[str, Any]) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class Cache:
    """A folder of cached arrays; ``enabled=False`` computes every time."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True):
        self.root = Path(root) if root else cache_home()
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self.writable = True

    def __eq__(self, other: object) -> bool:
        """Two caches are one when they read and write the same folder the same way."""
        return (isinstance(other, Cache)
                and (self.root, self.enabled) == (other.root, other.enabled))

    def __hash__(self) -> int:
        return hash((self.root, self.enabled))

    def _save(self, path: Path, write: Callable[[Path], None]) -> None:
        if not (self.enabled and self.writable):
            return
        try:
            atomic_write(path, write)
        except OSError as err:
            self.writable = False
            print(f"warning: cannot write the cache {self.root} ({err.strerror or err}); "
                  "continuing without caching (set BENCH_CACHE to a writable folder)",
                  file=sys.stderr)

    def _path(self, namespace: str, parts: dict[str, Any], suffix: str) -> Path:
        return self.root / namespace / f"{cache_key(parts)}{suffix}"

    def tensor(self, namespace: str, parts: dict[str, Any],
               compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        path = self._path(namespace, parts, ".pt")
        if self.enabled and path.exists():
            try:
                value = torch.load(path, map_location="cpu", weights_only=True)
                self.hits += 1
                return value
            except (OSError, RuntimeError, EOFError):
                pass  # a damaged entry is recomputed
        self.misses += 1
        value = compute()

        def write(p: Path) -> None:  # through bytes: a full disk is an OSError, not torch's
            buf = io.BytesIO()
            torch.save(value.detach().cpu(), buf)
            p.write_bytes(buf.getvalue())
        self._save(path, write)
        return value

    def array(self, namespace: str, parts: dict[str, Any],
              compute: Callable[[], np.ndarray]) -> np.ndarray:
        path = self._path(namespace, parts, ".npy")
        if self.enabled and path.exists():
            try:
                value = np.load(path, allow_pickle=False)
                self.hits += 1
                return value
            except (OSError, ValueError, EOFError):
                pass
        self.misses += 1
        value = compute()

        def write(p: Path) -> None:
            with open(p, "wb") as f:
                np.save(f, value, allow_pickle=False)
        self._save(path, write)
        return value

    def stored_array(self, namespace: str, parts: dict[str, Any]) -> np.ndarray | None:
        """The cached array under ``parts`` if there is a readable one, else None (no compute)."""
        path = self._path(namespace, parts, ".npy")
        if not (self.enabled and path.exists()):
            return None
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        self.hits += 1
        return value

    def stored_json(self, namespace: str, parts: dict[str, Any]) -> Any | None:
        """The cached JSON value under ``parts`` if there is a readable one, else None."""
        path = self._path(namespace, parts, ".json")
        if not (self.enabled and path.exists()):
            return None
        try:
            value = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        self.hits += 1
        return value

    def json(self, namespace: str, parts: dict[str, Any], compute: Callable[[], Any]) -> Any:
        path = self._path(namespace, parts, ".json")
        if self.enabled and path.exists():
            try:
                value = json.loads(path.read_text())
                self.hits += 1
                return value
            except (OSError, ValueError):
                pass
        self.misses += 1
        value = compute()
        self._save(path, lambda p: p.write_text(json.dumps(value)))
        return value
