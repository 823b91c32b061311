"""Map a function over items in worker processes, in order, with a progress bar."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import tqdm


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _init_worker(plugins: Sequence[str]) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(0)
    from bench.registry import load_plugins

    load_plugins(list(plugins))


def _run_chunk(fn: Callable, chunk: list) -> list:
    return [fn(item) for item in chunk]


def pmap(fn: Callable[[Any], Any], items: Sequence[Any], workers: int = 1, desc: str = "",
         quiet: bool = False, plugins: Iterable[str] = (), min_parallel: int = 32,
         chunk_size: int = 16) -> list[Any]:
    """``[fn(x) for x in items]``, in `workers` spawned processes when it pays.

    `fn` must be a module-level function. Workers import bench's registries and
    the given plugins, so plugin shifts work there too.
    """
    bar = tqdm(total=len(items), desc=desc, disable=quiet or not desc, leave=False,
               dynamic_ncols=True)
    try:
        if workers <= 1 or len(items) < min_parallel:
            out = []
            for item in items:
                out.append(fn(item))
                bar.update(1)
            return out
        chunks = [list(items[i:i + chunk_size]) for i in range(0, len(items), chunk_size)]
        ctx = mp.get_context("spawn")
        out = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(tuple(plugins),)) as pool:
            for res in pool.map(_run_chunk, [fn] * len(chunks), chunks):
                out.extend(res)
                bar.update(len(res))
        return out
    finally:
        bar.close()
