"""Named phases of a method's step, for `python -m bench perf profile`.

``with phase("forward"): ...`` marks a region in torch's profiler (a `record_function`
labelled ``bench/forward``); `perf profile` charges each profiled operation to the
innermost phase around it. Outside a profiler a phase costs a few microseconds and
changes nothing. Methods (plugins included) may name phases of their own.
"""

from __future__ import annotations

from torch.profiler import record_function

PREFIX = "bench/"


def phase(name: str) -> record_function:
    """A context manager marking the phase ``name`` (see the module docstring)."""
    return record_function(PREFIX + name)
