"""Claims: which process computes a cell, so two runs into one folder never do it twice.

A claim is ``claims/<cell_id>.claim`` holding the owner's PID, host and run id,
locked with ``flock`` while the owner computes the cell. The lock dies with its
process, so the claim file a killed run leaves behind is stale: the next run
that wants the cell locks it and takes it over. A run that finds a cell locked
skips it and says so. The file is removed when its owner releases it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path


class Claim:
    """A held claim; `release` (or leaving the ``with`` block) gives it up."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # still locked: nobody can take it in between
        finally:
            os.close(self._fd)  # drops the lock
            self._fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_path(root: Path, cell_id: str) -> Path:
    return Path(root) / "claims" / f"{cell_id}.claim"


def try_claim(root: Path, cell_id: str, run_id: str) -> Claim | None:
    """Claim a cell for this process; None when a live process holds it."""
    path = claim_path(root, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the owner released (and removed) it between our open and lock
            os.close(fd)
            continue
        record = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id}
        os.ftruncate(fd, 0)  # a stale claim of a dead process is taken over here
        os.pwrite(fd, json.dumps(record).encode(), 0)
        return Claim(path, fd)


def claim_owner(root: Path, cell_id: str) -> str:
    """'pid N on HOST' of a cell's claim, for messages ('' when unknown)."""
    try:
        record = json.loads(claim_path(root, cell_id).read_text())
        return f"pid {record['pid']} on {record['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
