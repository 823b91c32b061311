"""`perf profile`: the phase accounting on hand-made profiler events, and the command end to
end on smoke cells (REST's phases, its one host read per step in the gradient surgery)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch
from helpers_run import cli

from bench.studies.profile import MethodProfile, PhaseTotals, phase_totals, profile_table


@dataclass
class _Range:
    start: float
    end: float


@dataclass
class _Kernel:
    duration: float


@dataclass
class _Event:
    name: str
    time_range: _Range
    kernels: list = field(default_factory=list)


def _ev(name: str, start: float, end: float, *kernels: float) -> _Event:
    return _Event(name, _Range(start, end), [_Kernel(k) for k in kernels])


def test_phase_totals_are_exclusive_and_charge_the_innermost_phase():
    events = [
        _ev("bench/cell", 0, 100),
        _ev("bench/update", 10, 60),
        _ev("bench/backward", 20, 40),
        _ev("aten::mm", 21, 30, 5.0),          # in backward: its kernel time
        _ev("aten::mm", 25, 28, 2.0),          # another thread, same interval: backward
        _ev("aten::_local_scalar_dense", 45, 46),  # in update, after backward closed
        _ev("cudaStreamSynchronize", 45.5, 46),  # a wait, in update
        _ev("bench/backward", 70, 80),         # a second call, directly in cell
        _ev("aten::_local_scalar_dense", 90, 91),  # in cell
        _ev("aten::add", 150, 160, 9.0),       # outside every phase: not counted
    ]
    t = phase_totals(events)
    assert set(t) == {"cell", "update", "backward"}
    assert (t["backward"].calls, t["backward"].wall_us, t["backward"].device_us) == (2, 30, 7)
    assert (t["update"].wall_us, t["update"].host_reads, t["update"].device_waits) == (30, 1, 1)
    assert (t["cell"].wall_us, t["cell"].host_reads, t["cell"].device_us) == (40, 1, 0)
    assert sum(v.wall_us for v in t.values()) == 100  # the phases add up to the cell


def test_profile_table_per_query_and_versus():
    a = MethodProfile("tcr")
    a.add_cell({"forward": PhaseTotals(2, 2e6, 0, 2), "backward": PhaseTotals(2, 6e6)}, 100, 2)
    b = MethodProfile("rest")
    b.add_cell({"forward": PhaseTotals(2, 4e6), "surgery": PhaseTotals(2, 1e6, 0, 2)}, 100, 2)
    lines = [line.split() for line in profile_table([a, b], "tcr").splitlines()]
    assert lines[0][-1] == "tcr"
    assert lines[1] == ["tcr", "backward", "2", "6.00", "75.0%", "60.000", "0", "0.00", "1.00x"]
    assert lines[3] == ["tcr", "total", "8.00", "100.0%", "80.000", "2", "1.00", "1.00x"]
    assert lines[4] == ["rest", "forward", "2", "4.00", "80.0%", "40.000", "0", "0.00", "2.00x"]
    assert lines[5][1] == "surgery" and lines[5][-1] == "-"  # tcr has no surgery
    assert lines[6][:3] == ["rest", "total", "5.00"] and lines[6][-1] == "0.62x"


def _rows(out: str) -> dict[tuple[str, str], list[str]]:
    """The table's lines by (method, phase): the fixed-width first two columns, then the
    rest split."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("method "))
    return {(line[:10].strip(), line[11:27].strip()): line[27:].split()
            for line in lines[start + 1:]}


def test_perf_profile_splits_rest_by_phase():
    threads = torch.get_num_threads()
    code, out, err = cli("perf", "profile", "--suite", "smoke", "--limit", "24", "--shift",
                         "clean", "--direction", "t2i", "--method", "tcr,rest",
                         "--versus", "tcr")
    assert code == 0, err
    rows = _rows(out)
    for name in ("forward", "loss", "update", "backward", "optimizer", "queue", "metrics",
                 "cell", "total"):
        assert ("tcr", name) in rows and ("rest", name) in rows, name
    for name in ("keep forward", "keep backward", "surgery", "source encode"):
        assert ("rest", name) in rows and ("tcr", name) not in rows, name
    # columns after the phase: calls, wall s, share, ms/query, host reads, reads/step, vs tcr
    assert rows[("rest", "surgery")][5] == "1.00"  # one value read back per step
    assert rows[("rest", "keep forward")][-1] == "-"
    assert rows[("tcr", "total")][1] == "100.0%" and rows[("tcr", "total")][-1] == "1.00x"
    shares = [float(r[2].rstrip("%")) for (m, name), r in rows.items()
              if m == "rest" and name != "total"]
    assert sum(shares) == pytest.approx(100.0, abs=0.1 * len(shares))
    assert err.count("] smoke mini-scenes-smoke t2i clean") == 2  # progress, one per cell
    assert torch.get_num_threads() == threads


def test_perf_profile_bad_versus_is_exit_2():
    code, _, err = cli("perf", "profile", "--method", "tcr", "--versus", "rest")
    assert code == 2 and "--versus rest: not among --method tcr" in err


@pytest.mark.parametrize("value", ["0", "-1"])
def test_perf_profile_bad_threads_is_exit_2(value):
    code, _, err = cli("perf", "profile", "--threads", value)
    assert code == 2 and f"argument --threads: must be at least 1, got {value}" in err
