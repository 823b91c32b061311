"""Atomic, resumable writing of a generated dataset: one folder per split, one merged JSON.

A split is built in a private temp folder next to its final place and renamed
into place only when complete (with its ``_records.json``), so a crash leaves a
temp folder, never a half split. The annotation JSON is then rebuilt from the
complete splits and replaced atomically. Readers therefore see either the old
state or the new one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

RECORDS = "_records.json"
TMP_PREFIX = ".tmp-"
PROGRESS_MIN = 300  # show a progress bar from this many images on
T = TypeVar("T")


def dump_json(obj: Any) -> bytes:
    """Canonical JSON bytes: the same object always gives the same bytes."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def split_done(split_dir: Path) -> bool:
    return (split_dir / RECORDS).is_file()


def read_records(split_dir: Path) -> list[dict]:
    return json.loads((split_dir / RECORDS).read_text(encoding="utf-8"))


def write_split(folder: Path, image_dir: str, split: str,
                build: Callable[[Path], list[dict]]) -> Path:
    """Make ``folder/image_dir/split`` with ``build(tmp)`` unless a complete one exists.

    ``build`` writes the images into the temp folder and returns the split's records.
    """
    target = folder / image_dir / split
    if split_done(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{split}-{os.getpid()}-", dir=folder))
    try:
        records = build(tmp)
        (tmp / RECORDS).write_bytes(dump_json(records))
        tmp.chmod(0o755)  # mkdtemp makes it private; the data is meant to be shared
        if target.exists() and not split_done(target):
            shutil.rmtree(target)  # not ours and incomplete (e.g. a hand-deleted records file)
        try:
            os.rename(tmp, target)
        except OSError:
            if not split_done(target):  # another process finished it first: same bytes, fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def write_annotation(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically, and only when its bytes change."""
    if path.is_file() and path.read_bytes() == content:
        return
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-{os.getpid()}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def clean_stale(folder: Path) -> list[Path]:
    """Remove temp files and folders left by processes that no longer run."""
    removed = []
    for p in sorted(folder.glob(f"{TMP_PREFIX}*")):
        m = re.search(r"-(\d+)-[^-]*$", p.name)
        if m and _alive(int(m.group(1))):
            continue  # another generator is writing right now
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def progress(items: Iterable[T], total: int, desc: str, enabled: bool) -> Iterator[T]:
    """``items`` with a tqdm bar when enabled and long enough to be worth watching."""
    if enabled and total >= PROGRESS_MIN:
        return iter(tqdm(items, total=total, desc=desc, unit="img", leave=False))
    return iter(items)
