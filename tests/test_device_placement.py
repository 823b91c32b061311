"""Every tensor the adaptation code creates lands on the device of the model and data.

A GPU run (tools/gpu_check.sh) found REST failing every cell on CUDA: it compared a CUDA
index tensor with `torch.arange(n)`, made on the CPU. CI has no GPU, so this test records,
while each method runs a smoke cell on the CPU, every tensor factory call from bench's
adaptation code (methods/, baselines/, bench/api/) that names no device: such a call makes
a CPU tensor whatever device the run is on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from helpers_run import smoke_run
from torch.overrides import TorchFunctionMode

ROOT = Path(__file__).resolve().parents[1]
ADAPTATION_CODE = tuple(str(ROOT / d) for d in ("methods", "baselines", "bench/api"))
FACTORIES = {torch.arange, torch.zeros, torch.ones, torch.empty, torch.full, torch.eye,
             torch.tensor, torch.as_tensor, torch.rand, torch.randn, torch.randint,
             torch.randperm, torch.linspace}


class DevicelessFactories(TorchFunctionMode):
    """Records (file, line) of factory calls from the adaptation code without ``device=``."""

    def __init__(self):
        super().__init__()
        self.calls: set[tuple[str, int]] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and "device" not in kwargs:
            frame = sys._getframe(1)
            while frame is not None and "/torch/" in frame.f_code.co_filename:
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename.startswith(ADAPTATION_CODE):
                name = Path(frame.f_code.co_filename).relative_to(ROOT)
                self.calls.add((str(name), frame.f_lineno))
        return func(*args, **kwargs)


def test_the_mode_sees_a_deviceless_factory_call():
    with DevicelessFactories() as mode:
        torch.arange(3)  # from tests/: not adaptation code, not recorded
    assert mode.calls == set()
    from methods import rest
    queue = rest.SourceLikeQueue(capacity=4, ratio=1.0, tau=0.02, max_batches=1)
    kept = rest.QueueInputs(inputs=torch.zeros(2, 3))
    q = torch.eye(2)
    queue.update(q, q)
    with DevicelessFactories() as mode:
        kept.realign(queue, q, q, torch.zeros(2, 3))
    assert mode.calls == set()  # the arange REST compares with names the device now


ORIGINAL = "{}.variant=original"  # the papers' variants (the default is TCR's port)


@pytest.mark.parametrize("method, settings", [
    ("tent", ()), ("eata", ()), ("sar", ()), ("read", ()), ("deyo", ()), ("tcr", ()),
    ("rest", ()), ("rest", ("--set", "rest.decouple=pcgrad")),
    ("eata", ("--set", ORIGINAL.format("eata"))), ("sar", ("--set", ORIGINAL.format("sar"))),
    ("deyo", ("--set", ORIGINAL.format("deyo")))])
def test_adaptation_creates_tensors_on_the_runs_device(tmp_path, method, settings):
    with DevicelessFactories() as mode:
        code, _, err = smoke_run(tmp_path, *settings, methods=method, limit=32)
    assert code == 0, err
    assert sorted(mode.calls) == []
