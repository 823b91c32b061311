"""`perf sweep`'s CPU time: a LocalCluster's workers counted once (they were counted twice,
which read 3.5 CPU seconds per wall second on 2 cores)."""

from __future__ import annotations

import time

import pytest

from bench.studies.perf import cpu_clock


def _burn(seconds: float) -> float:
    t = time.process_time()
    while time.process_time() - t < seconds:
        pass
    return time.process_time() - t


def test_cpu_clock_counts_a_local_clusters_workers_once(monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    # dask's nanny exports MALLOC_TRIM_THRESHOLD_ into this process: undone after the test
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "unset-by-the-test")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    cpu0, wall0 = cpu_clock(), time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    try:
        with distributed.Client(cluster) as client:
            workers = list(client.scheduler_info()["workers"])
            burnt = sum(client.gather([client.submit(_burn, 3.0, pure=False, workers=[w])
                                       for w in workers]))
    finally:
        cluster.close()
    cpu, wall = cpu_clock() - cpu0, time.perf_counter() - wall0
    assert burnt >= 6.0
    assert cpu >= burnt  # the workers' own CPU is in (they are reaped children once closed)
    # ... and counted once: what is left is the cluster's start-up (about 1 s idle, 3 s with
    # both cores busy), under a second copy of the workers' time (which would add >= 6 s)
    assert cpu - burnt < burnt, (cpu, burnt, wall)
