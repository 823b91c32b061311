"""What the common-space diagnostics add to a cell's time (`python -m bench perf diagnostics`).

Each cell is timed (its row's ``wall_s``, in this process, its model, gallery and queries
loaded before) three ways, in interleaved rounds whose order rotates:

* off: ``--no-diagnostics``;
* warm: diagnostics on, the source passes they read already built (as every cell after the
  first of its query set in a run, or after a `source` cell, reads them);
* cold: diagnostics on, the source passes and the clean query set rebuilt by the cell
  itself, the disk cache bypassed: a lone cell on a fresh machine.

Rows are the same in all three (tests/test_diagnostics.py); only the time differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

MODES = ("off", "warm", "cold")


@dataclass
class CellCost:
    title: str
    queries: int
    seconds: dict[str, list[float]]  # mode -> per round

    def median(self, mode: str) -> float:
        return statistics.median(self.seconds[mode])

    def added(self, mode: str) -> float:
        """Median time of `mode` over median time off, minus one, in percent."""
        return 100.0 * (self.median(mode) / self.median("off") - 1.0)


@contextlib.contextmanager
def cold_source_passes(res) -> Iterator[None]:
    """`res` rebuilds the diagnostics' source passes and clean query sets, the disk cache's
    ``source-queries`` entries unread, while the block runs."""
    cache = res.build.cache
    tensor = cache.tensor

    def uncached(namespace, parts, compute):
        return compute() if namespace == "source-queries" else tensor(namespace, parts, compute)

    res.forget_diagnostic_inputs()
    cache.tensor = uncached
    try:
        yield
    finally:
        cache.tensor = tensor


def cell_cost(cell, res, rounds: int, run_id: str) -> CellCost:
    """Interleaved rounds of the three modes on one cell, after one untimed run of each."""
    from bench.studies.inprocess import execute_ok, preload

    off = dataclasses.replace(cell, diagnostics=False)

    def once(mode: str) -> dict:
        if mode == "cold":
            with cold_source_passes(res):
                return execute_ok(cell, res, run_id).row
        return execute_ok(off if mode == "off" else cell, res, run_id).row

    preload(cell, res)
    queries = once("off")["n_queries"]
    once("warm")
    seconds = {m: [] for m in MODES}
    for k in range(rounds):
        for mode in MODES[k % 3:] + MODES[:k % 3]:
            seconds[mode].append(once(mode)["wall_s"])
    return CellCost(cell.title, queries, seconds)


def cost_table(cells: list[CellCost]) -> str:
    """One line per cell: queries, the median seconds off, warm and cold, and what warm and
    cold add to off (percent)."""
    w = max([len(c.title) for c in cells] + [4])
    lines = [f"{'cell':<{w}} {'queries':>7} {'off s':>7} {'warm s':>7} {'warm +%':>8} "
             f"{'cold s':>7} {'cold +%':>8}"]
    for c in cells:
        lines.append(f"{c.title:<{w}} {c.queries:>7} {c.median('off'):>7.2f} "
                     f"{c.median('warm'):>7.2f} {c.added('warm'):>+8.1f} "
                     f"{c.median('cold'):>7.2f} {c.added('cold'):>+8.1f}")
    return "\n".join(lines)
