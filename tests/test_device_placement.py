"""Every tensor the adaptation code creates lands on the device of the model and data.

A GPU run (tools/gpu_check.sh) found REST failing every cell on CUDA: it compared a CUDA
index tensor with `torch.arange(n)`, made on the CPU. CI has no GPU, so this test records,
while each method runs a smoke cell on the CPU, every tensor factory call from bench's
adaptation code (methods/, baselines/, bench/api/) that names no device: such a call makes
a CPU tensor whatever device the run is on.

The second GPU run found one more, which no CPU run can show: REST indexed its queue's
inputs (kept on the CPU, where the loader puts them) with an index computed on the GPU.
The tests at the end run on a CUDA machine only (`bash tools/gpu_check.sh DIR cuda_tests`):
that mixed-device indexing, and every case above with ``--device cuda``."""

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
DISPATCH = ("/torch/overrides.py", "/torch/_tensor.py", "/torch/utils/_device.py")


class DevicelessFactories(TorchFunctionMode):
    """Records (file, line) of factory calls from the adaptation code without ``device=``."""

    def __init__(self):
        super().__init__()
        self.calls: set[tuple[str, int]] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and "device" not in kwargs:
            frame = sys._getframe(1)  # the caller, past torch's dispatch frames only: a call
            while frame is not None and frame.f_code.co_filename.endswith(DISPATCH):
                frame = frame.f_back  # from inside torch (an optimizer's step) is torch's
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


def test_the_mode_records_direct_calls_not_torchs_own():
    """On CUDA, torch's own ``optimizer.step()`` makes tensors without ``device=`` (its
    choice, not the adaptation code's, which only calls it): only direct calls count."""
    torch_code = compile("def inner():\n    return torch.tensor(0.0)\n",
                         str(Path(torch.__file__).parent / "optim" / "probe.py"), "exec")
    scope = {"torch": torch}
    exec(torch_code, scope)
    ours = compile("def direct():\n    return torch.tensor(0.0)\n\n"
                   "def via_torch():\n    return inner()\n",
                   str(ROOT / "methods" / "probe.py"), "exec")
    exec(ours, scope)
    with DevicelessFactories() as mode:
        scope["via_torch"]()
    assert mode.calls == set()
    with DevicelessFactories() as mode:
        scope["direct"]()
    assert mode.calls == {("methods/probe.py", 2)}


ORIGINAL = "{}.variant=original"  # the papers' variants (the default is TCR's port)
CASES = [
    ("tent", ()), ("eata", ()), ("sar", ()), ("read", ()), ("deyo", ()), ("tcr", ()),
    ("rest", ()), ("rest", ("--set", "rest.decouple=pcgrad")),
    ("eata", ("--set", ORIGINAL.format("eata"))), ("sar", ("--set", ORIGINAL.format("sar"))),
    ("deyo", ("--set", ORIGINAL.format("deyo")))]
LIMIT = 96
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("method, settings", CASES)
def test_adaptation_creates_tensors_on_the_runs_device(tmp_path, method, settings):
    with DevicelessFactories() as mode:  # two batches (64 + 32): REST realigns its queue
        code, _, err = smoke_run(tmp_path, *settings, methods=method, limit=LIMIT)
    assert code == 0, err
    assert sorted(mode.calls) == []


@needs_cuda
def test_rest_realigns_cpu_inputs_with_a_cuda_queue():
    from methods import rest
    cuda = torch.device("cuda")
    queue = rest.SourceLikeQueue(capacity=4, ratio=1.0, tau=0.02, max_batches=1)
    kept = rest.QueueInputs()
    q = torch.eye(2, device=cuda)
    inputs = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # the loader's batch, on the CPU
    queue.update(q, q)
    kept.realign(queue, None, q, inputs)
    assert kept.inputs.device.type == "cpu"
    assert sorted(kept.inputs.tolist()) == sorted(inputs.tolist())


@needs_cuda
@pytest.mark.parametrize("method, settings", CASES)
def test_every_method_runs_on_cuda(tmp_path, method, settings):
    code, _, err = smoke_run(tmp_path, *settings, "--device", "cuda", methods=method, limit=LIMIT)
    assert code == 0, err
