"""Batch clusters (dask-jobqueue) and GPU workers: settings, job scripts, worker specs; no
scheduler is started."""

from __future__ import annotations

import argparse

import pytest

from bench.api.errors import ConfigError
from bench.commands.common import add_cluster_arguments, cluster_job_settings
from bench.engine.clusters import (
    NO_MALLOC_TRIM,
    ClusterSpec,
    gpu_worker_specs,
    job_kwargs,
    job_script,
)

pytest.importorskip("dask_jobqueue")


def _settings(*argv: str) -> dict:
    p = argparse.ArgumentParser()
    add_cluster_arguments(p)
    return cluster_job_settings(p.parse_args(list(argv)))


def test_flags_override_the_config_file(tmp_path):
    config = tmp_path / "slurm.toml"
    config.write_text('queue = "long"\nmemory = "32GB"\njob_extra_directives = ["--qos=high"]\n')
    job = _settings("--cluster", "slurm", "--cluster-config", str(config),
                    "--cluster-queue", "gpu", "--cluster-walltime", "01:30:00")
    assert job == {"queue": "gpu", "memory": "32GB", "walltime": "01:30:00",
                   "job_extra_directives": ["--qos=high"]}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="table"):
        _settings("--cluster-config", str(bad))


def test_slurm_job_script_carries_the_settings():
    spec = ClusterSpec(kind="slurm", job={"queue": "gpu", "account": "proj1",
                                          "memory": "16GB", "walltime": "02:00:00"}, gpus=1)
    script = job_script(spec, "tcp://10.0.0.1:8786")
    for line in ("#SBATCH -p gpu", "#SBATCH -A proj1", "#SBATCH -t 02:00:00",
                 "#SBATCH --gres=gpu:1", "#SBATCH --cpus-per-task=1"):
        assert line in script, script
    # one single-threaded worker per job, without a nanny (no MALLOC_TRIM_THRESHOLD_)
    assert "tcp://10.0.0.1:8786" in script and "--nthreads 1" in script
    assert "--no-nanny" in script


def test_pbs_job_script_and_user_overrides():
    spec = ClusterSpec(kind="pbs", job={"queue": "workq", "nanny": True, "cores": 4,
                                        "resource_spec": "select=1:ncpus=4:mem=8GB"})
    script = job_script(spec)
    assert "#PBS -q workq" in script and "select=1:ncpus=4:mem=8GB" in script
    assert "--no-nanny" not in script and "--nthreads 4" in script
    assert job_kwargs(ClusterSpec(kind="pbs", gpus=1))["job_extra_directives"] == ["-l ngpus=1"]


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="slurm, pbs"):
        job_script(ClusterSpec(kind="lsf"))


def test_gpu_workers_one_per_device():
    specs = gpu_worker_specs(3)
    assert [s["options"]["env"]["CUDA_VISIBLE_DEVICES"] for s in specs.values()] == ["0", "1", "2"]
    assert all(s["options"]["resources"] == {"GPU": 1} and s["options"]["nthreads"] == 1
               for s in specs.values())


def test_local_workers_start_without_malloc_trim(monkeypatch):
    import dask
    from distributed.nanny import _get_env_variables

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # the environment wins
    default = _get_env_variables("distributed.nanny.pre-spawn-environ")
    with dask.config.set(NO_MALLOC_TRIM):
        env = _get_env_variables("distributed.nanny.pre-spawn-environ")
    assert default.get("MALLOC_TRIM_THRESHOLD_") == "65536"  # dask's default, which we drop
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env["OMP_NUM_THREADS"] == "1"


def test_cluster_needs_the_dask_executor():
    from helpers_run import smoke_run

    code, _, err = smoke_run("unused", "--cluster", "slurm")
    assert code == 2 and "--cluster needs --executor dask" in err


@pytest.mark.filterwarnings("ignore")
def test_gpu_cluster_starts_one_pinned_worker_per_device(monkeypatch):
    """The cluster `--device cuda` starts (no GPU needed to start it): each worker sees its
    own device index, holds one GPU resource, one thread, no malloc trim."""
    import os

    from dask.distributed import Client

    from bench.engine.clusters import start_cluster

    def _worker_view(dask_worker):
        return (os.environ.get("CUDA_VISIBLE_DEVICES"), dask_worker.state.nthreads,
                dict(dask_worker.state.total_resources),
                os.environ.get("MALLOC_TRIM_THRESHOLD_"))

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    cluster = start_cluster(ClusterSpec(gpus=2), 1)
    try:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            seen = sorted(client.run(_worker_view).values())
    finally:
        cluster.close()
    assert seen == [("0", 1, {"GPU": 1}, None), ("1", 1, {"GPU": 1}, None)]
