"""Map a function over items in worker processes, in order, with a progress bar.

One pool of spawned workers is kept for the whole process and reused by every
call (starting workers costs seconds: they import numpy, scikit-image, OpenCV).
Workers die with their parent, even a SIGKILLed one: on Linux the kernel sends
them SIGKILL (``PR_SET_PDEATHSIG``), elsewhere a watchdog thread notices the new
parent PID. With them gone, multiprocessing's resource tracker exits too.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import tqdm

_pool: ProcessPoolExecutor | None = None
_pool_key: tuple | None = None


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _die_with_parent(parent: int) -> None:
    """Exit when process `parent` exits (called in a pool worker)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _init_worker(plugins: Sequence[str], parent: int) -> None:
    _die_with_parent(parent)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(0)
    import bench.shifts  # noqa: F401  (registers the built-in shifts)
    from bench.api.registry import load_plugin

    for spec in plugins:  # plugins may register shifts of their own
        load_plugin(spec)


def _run_chunk(fn: Callable, chunk: list) -> list:
    return [fn(item) for item in chunk]


def _get_pool(workers: int, plugins: tuple[str, ...]) -> ProcessPoolExecutor:
    global _pool, _pool_key
    key = (workers, plugins)
    if _pool is None or _pool_key != key:
        shutdown_pool()
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                    initializer=_init_worker, initargs=(plugins, os.getpid()))
        _pool_key = key
    return _pool


def shutdown_pool() -> None:
    global _pool, _pool_key
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_key = None, None


def kill_pool() -> None:
    """Stop the workers now (interrupted run): no waiting for their current chunk."""
    global _pool, _pool_key
    if _pool is None:
        return
    # ProcessPoolExecutor has no public way to stop running workers. Its manager thread then
    # fails on the cancelled futures (InvalidStateError in Python 3.11): nobody waits for
    # them, so that thread's traceback is dropped.
    manager = getattr(_pool, "_executor_manager_thread", None)
    hook = threading.excepthook
    threading.excepthook = lambda args: None if args.thread is manager else hook(args)
    for proc in list((getattr(_pool, "_processes", None) or {}).values()):
        proc.kill()
    _pool.shutdown(wait=False, cancel_futures=True)
    _pool, _pool_key = None, None


atexit.register(shutdown_pool)


def pmap(fn: Callable[[Any], Any], items: Sequence[Any], workers: int = 1, desc: str = "",
         quiet: bool = False, plugins: Iterable[str] = (), min_parallel: int = 32,
         chunk_size: int = 16) -> list[Any]:
    """``[fn(x) for x in items]``, in `workers` spawned processes when it pays.

    `fn` must be a module-level function. Workers import bench's shifts and the
    given plugins, so plugin shifts work there too.
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
        pool = _get_pool(workers, tuple(plugins))
        out = []
        for res in pool.map(_run_chunk, [fn] * len(chunks), chunks):
            out.extend(res)
            bar.update(len(res))
        return out
    finally:
        bar.close()
