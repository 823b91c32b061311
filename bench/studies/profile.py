"""Where a method's time goes (`python -m bench perf profile`): one cell run under
torch's profiler, its time split by the phases the code names (`bench.api.phases`).

Each operation is charged to the innermost phase whose interval contains its start, on
whichever thread it ran (a GPU's backward runs on autograd's own thread while the caller
waits inside its ``backward`` phase). Per phase:

* wall: the phase's time on the calling thread less the phases nested in it (so the
  phases of a cell add up to the cell's profiled time; ``cell`` itself is what no phase
  covers: the method's set-up, seeding, the trace and the row);
* device: the kernel time of the operations it launched (on a GPU; 0 on the CPU);
* host reads: operations that copy one value back to Python (``item()``, ``bool()``,
  ``int()``, ``float()`` of a tensor: ``aten::_local_scalar_dense``). On a GPU each one
  waits until the device has caught up, so they count even where the CPU run cannot show
  their cost (a read of a CPU tensor, such as AdamW's step counters, does not wait);
* device waits (on a GPU): the CUDA runtime's synchronize calls made in the phase, the
  waits themselves.

The profiler adds a few microseconds to every operation, so the phases of many small
operations weigh more profiled than they cost; the unprofiled time per query is `perf run`'s.
All methods run in one process, in the order given, and that order moves a phase by a few
percent (REST's batch passes: 1.05x TCR's with TCR first, 1.00x with REST first, on
smoke's caption cell), so phases of two methods compare only beyond that.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path

from bench.api.phases import PREFIX, phase

HOST_READ = "aten::_local_scalar_dense"
CELL = "cell"


@dataclass
class PhaseTotals:
    calls: int = 0
    wall_us: float = 0.0
    device_us: float = 0.0
    host_reads: int = 0
    device_waits: int = 0

    def add(self, other: PhaseTotals) -> None:
        for f in fields(self):  # every field is a count or a time: totals add up
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class MethodProfile:
    method: str
    queries: int = 0
    steps: int = 0  # adaptation steps (batches x the protocol's steps)
    phases: dict[str, PhaseTotals] = field(default_factory=lambda: defaultdict(PhaseTotals))

    def add_cell(self, phases: dict[str, PhaseTotals], queries: int, steps: int) -> None:
        for name, totals in phases.items():
            self.phases[name].add(totals)
        self.queries += queries
        self.steps += steps


def phase_totals(events) -> dict[str, PhaseTotals]:
    """Exclusive per-phase totals from a profiler's function events (module docstring).

    ``events``: objects with ``name``, ``time_range.start/end`` (microseconds), and for
    CPU operations ``kernels`` (each with a ``duration``). Phase intervals nest (they come
    from ``with`` blocks on one thread); one sweep in time order keeps the open ones on a
    stack, so an operation's phase is the stack's top when it starts."""
    order = []  # (start, 0 = phase opens / 1 = operation starts, -end, id: ties, event)
    for e in events:
        start, end = e.time_range.start, e.time_range.end
        order.append((start, 0 if e.name.startswith(PREFIX) else 1, -end, id(e), e))
    order.sort(key=lambda item: item[:4])
    totals: dict[str, PhaseTotals] = defaultdict(PhaseTotals)
    stack: list = []
    for start, kind, _, _, e in order:
        while stack and stack[-1].time_range.end < start:
            stack.pop()
        if kind == 0:
            name, span = e.name[len(PREFIX):], e.time_range.end - start
            totals[name].calls += 1
            totals[name].wall_us += span
            if stack:  # the enclosing phase's own time excludes this one
                totals[stack[-1].name[len(PREFIX):]].wall_us -= span
            stack.append(e)
        elif stack:
            owner = totals[stack[-1].name[len(PREFIX):]]
            owner.device_us += sum(k.duration for k in (getattr(e, "kernels", None) or []))
            owner.host_reads += e.name == HOST_READ
            owner.device_waits += "Synchronize" in e.name  # cuda{Stream,Device,Event}Synchronize
    return dict(totals)


def profile_cell(cell, res, run_id: str, cuda: bool, trace: Path | None = None
                 ) -> tuple[dict[str, PhaseTotals], int, int]:
    """Run one cell under the profiler; returns its phase totals, its scored queries and
    its adaptation steps (batches times the protocol's steps). ``trace``: also write the
    profile there as a Chrome trace."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from bench.studies.inprocess import execute_ok

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        with phase(CELL):
            result = execute_ok(cell, res, run_id)
        if cuda:
            torch.cuda.synchronize()
    if trace is not None:
        prof.export_chrome_trace(str(trace))
    steps = len(result.trace) * json.loads(result.row["protocol"])["steps"]
    return phase_totals(prof.events()), result.row["n_queries"], steps


def profile_table(profiles: list[MethodProfile], versus: str | None = None,
                  cuda: bool = False) -> str:
    """One line per method and phase, phases in order of wall time, then the method's
    total: calls, wall seconds, share of the method's profiled time, milliseconds per
    query, host reads (all and per adaptation step) and, on a GPU, device seconds and
    device waits; ``versus``: each phase's time per query relative to the same phase of
    that method ("-" where it has no such phase)."""
    ref = next((p for p in profiles if p.method == versus), None)
    head = (f"{'method':<10} {'phase':<16} {'calls':>6} {'wall s':>8} {'share':>6} "
            f"{'ms/query':>9} {'host reads':>10} {'reads/step':>10}")
    if cuda:
        head += f" {'device s':>9} {'waits':>7}"
    if ref is not None:
        head += f" {'vs ' + versus:>9}"
    lines = [head]
    for p in profiles:
        whole = _sum(p.phases.values())
        total = max(whole.wall_us, 1e-9)
        ordered = sorted(p.phases.items(), key=lambda kv: -kv[1].wall_us)
        for name, t in ordered + [("total", whole)]:
            per_query = _ms_per_query(t, p)
            calls = "" if name == "total" else t.calls
            line = (f"{p.method:<10} {name:<16} {calls:>6} {t.wall_us / 1e6:>8.2f} "
                    f"{100 * t.wall_us / total:>5.1f}% {per_query:>9.3f} {t.host_reads:>10} "
                    f"{t.host_reads / max(p.steps, 1):>10.2f}")
            if cuda:
                line += f" {t.device_us / 1e6:>9.3f} {t.device_waits:>7}"
            if ref is not None:
                base = _sum(ref.phases.values()) if name == "total" else ref.phases.get(name)
                base_q = _ms_per_query(base, ref) if base is not None else 0.0
                line += f" {per_query / base_q:>8.2f}x" if base_q > 0 else f" {'-':>9}"
            lines.append(line)
    return "\n".join(lines)


def _ms_per_query(t: PhaseTotals, p: MethodProfile) -> float:
    return t.wall_us / 1e3 / max(p.queries, 1)


def _sum(values) -> PhaseTotals:
    out = PhaseTotals()
    for t in values:
        out.add(t)
    return out
