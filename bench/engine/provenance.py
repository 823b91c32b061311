"""What made a result: bench version, git commit, torch version, device."""

from __future__ import annotations

import functools
import resource
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from bench import __version__


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """The commit of the bench checkout ('' when not a git checkout); '+dirty' if modified."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "bench", "baselines", "methods", "corruptions"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def resolve_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        from bench.api.errors import ConfigError
        raise ConfigError("--device cuda but no CUDA device is available", "use --device cpu")
    return torch.device(choice)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{torch.get_num_threads()}threads"


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


def provenance(device: torch.device) -> dict[str, str]:
    return {"bench_version": __version__, "git_sha": git_sha(), "torch_version": torch.__version__,
            "device": device_name(device),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
