"""Check every image a suite needs before the first cell: existence and header.

A run stops with exit 2 naming the first few unreadable files and their count,
before any result is written; with ``--skip-unreadable`` the images (and their
captions) are left out and the count is recorded in each row and in the
leaderboard heading (docs/real-data.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from bench.api.errors import DataError
from bench.data.dataset import RetrievalDataset

SHOWN = 3


def _problem(path: Path) -> str | None:
    if not path.is_file():
        return "missing"
    try:
        with Image.open(path) as im:  # decodes the header only
            im.size  # noqa: B018
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        return f"unreadable: {str(err).splitlines()[0][:80]}"
    return None


def unreadable_images(ds: RetrievalDataset, threads: int = 8) -> list[tuple[int, str]]:
    """(index, reason) of every image of `ds` that is missing or whose header cannot be read."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        problems = list(pool.map(_problem, [Path(p) for p in ds.image_paths]))
    return [(i, why) for i, why in enumerate(problems) if why]


def describe_unreadable(ds: RetrievalDataset, bad: list[tuple[int, str]]) -> str:
    shown = ", ".join(f"{ds.image_paths[i]} ({why})" for i, why in bad[:SHOWN])
    more = f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
    return f"{len(bad)} of {ds.n_images} images of {ds.name} cannot be read: {shown}{more}"


def checked(ds: RetrievalDataset, skip: bool) -> tuple[RetrievalDataset, int]:
    """`ds` when all its images open; else a DataError, or (with `skip`) `ds` without them."""
    bad = unreadable_images(ds)
    if not bad:
        return ds, 0
    if not skip:
        raise DataError(describe_unreadable(ds, bad),
                        "restore them, or pass --skip-unreadable to leave them out "
                        "(the count is recorded in every row)")
    drop = {i for i, _ in bad}
    keep = np.asarray([i for i in range(ds.n_images) if i not in drop], dtype=np.int64)
    if not len(keep):
        raise DataError(describe_unreadable(ds, bad), "no image of the dataset is left")
    return ds.subset_images(keep), len(bad)
