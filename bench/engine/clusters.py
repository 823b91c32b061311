"""The dask clusters `--executor dask` runs on (docs/cluster.md).

* no option: a `LocalCluster` on 127.0.0.1, one single-threaded worker process per
  core (``--dask-workers``), dashboard off;
* ``--device cuda`` without ``--scheduler``: one worker per visible GPU, each seeing only
  its own device (``CUDA_VISIBLE_DEVICES``) and holding one ``GPU`` resource;
* ``--scheduler ADDRESS``: an existing scheduler and its workers;
* ``--cluster slurm|pbs``: workers started as batch jobs by dask-jobqueue
  (``pip install -e '.[cluster]'``), job settings from ``--cluster-*`` flags and/or a
  ``--cluster-config`` TOML/JSON file of dask-jobqueue keyword arguments.

Worker processes started here do not get the ``MALLOC_TRIM_THRESHOLD_=65536`` that
dask's nanny exports by default (``distributed.nanny.pre-spawn-environ``): with it,
glibc gives freed tensor memory back at once and maps it again on the next batch, which
made one cell 1.46x slower in a plain process. Batch-job workers run without a nanny by
default for the same reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import ConfigError

CLUSTER_KINDS = ("slurm", "pbs")
# The nanny's default pre-spawn environment minus the malloc trim threshold (None unsets it).
NO_MALLOC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
# dask-jobqueue defaults for one bench worker per job: one process, one thread.
JOB_DEFAULTS: dict[str, Any] = {"cores": 1, "processes": 1, "memory": "8GB",
                                "walltime": "04:00:00", "nanny": False}


@dataclass
class ClusterSpec:
    """Where the dask executor gets its workers."""

    scheduler: str | None = None
    n_workers: int | None = None  # local cluster size, or the number of batch jobs
    kind: str | None = None  # None (local or --scheduler), "slurm" or "pbs"
    job: dict[str, Any] = field(default_factory=dict)  # dask-jobqueue keyword arguments
    gpus: int = 0  # > 0: a local cluster of one worker per GPU
    malloc_trim: bool = False  # keep dask's MALLOC_TRIM_THRESHOLD_ (only to measure its cost)


def read_job_config(path: Path) -> dict[str, Any]:
    """A TOML or JSON file of dask-jobqueue keyword arguments (queue, account, memory...)."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"cannot read --cluster-config {path}: {err.strerror or err}") from err
    try:
        if str(path).endswith(".toml"):
            from bench.api.toml import parse_toml
            data = parse_toml(text)
        else:
            data = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"--cluster-config {path} is not valid TOML/JSON: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"--cluster-config {path} must hold a table of settings")
    return data


def _jobqueue_class(kind: str):
    if kind not in CLUSTER_KINDS:
        raise ConfigError(f"--cluster must be one of {', '.join(CLUSTER_KINDS)}, got {kind!r}")
    try:
        import dask_jobqueue
    except ImportError as err:
        raise ConfigError(f"--cluster {kind} needs dask-jobqueue",
                          "pip install -e '.[cluster]'") from err
    return dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster


def job_kwargs(spec: ClusterSpec) -> dict[str, Any]:
    """The dask-jobqueue keyword arguments: our defaults, then the user's settings."""
    kwargs = dict(JOB_DEFAULTS) | spec.job
    if spec.gpus and "job_extra_directives" not in spec.job:
        gres = "--gres=gpu:1" if spec.kind == "slurm" else "-l ngpus=1"
        kwargs["job_extra_directives"] = [gres]
    return kwargs


def job_script(spec: ClusterSpec, scheduler: str = "tcp://127.0.0.1:8786") -> str:
    """The batch script one job would run, built without starting a scheduler."""
    cls = _jobqueue_class(spec.kind or "")
    return cls.job_cls(scheduler=scheduler, name="bench-worker", **job_kwargs(spec)).job_script()


def start_cluster(spec: ClusterSpec, default_workers: int):
    """A started cluster object (the caller closes it), or None for ``--scheduler``."""
    import dask

    if spec.scheduler:
        return None
    if spec.kind:
        cls = _jobqueue_class(spec.kind)
        cluster = cls(**job_kwargs(spec))
        cluster.scale(jobs=spec.n_workers or default_workers)
        return cluster
    from dask.distributed import LocalCluster

    with dask.config.set({} if spec.malloc_trim else NO_MALLOC_TRIM):
        if spec.gpus:
            return _gpu_cluster(spec.gpus)
        return LocalCluster(n_workers=spec.n_workers or default_workers, threads_per_worker=1,
                            processes=True, host="127.0.0.1", dashboard_address=None,
                            # no dashboard; the scheduler's HTTP server (health, metrics)
                            # takes a free loopback port, not 8787
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


def gpu_worker_specs(n_gpus: int) -> dict[str, dict]:
    """One single-threaded worker per GPU, pinned with CUDA_VISIBLE_DEVICES."""
    from dask.distributed import Nanny

    return {f"gpu-{i}": {"cls": Nanny, "options": {
        "nthreads": 1, "host": "127.0.0.1", "resources": {"GPU": 1},
        "env": {"CUDA_VISIBLE_DEVICES": str(i)}}} for i in range(n_gpus)}


def _gpu_cluster(n_gpus: int):
    from dask.distributed import Scheduler, SpecCluster

    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1",
                                               "dashboard_address": "127.0.0.1:0"}}
    return SpecCluster(workers=gpu_worker_specs(n_gpus), scheduler=scheduler)
