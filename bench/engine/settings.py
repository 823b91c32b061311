"""A run's settings, by role.

* `Selection`: what to run - methods, suites, model and weights, seeds, severities, the
  `--shift` / `--direction` filters, method overrides, the model's inputs on real data, and
  what each cell records besides its metrics. The planner turns it into cells.
* `bench.api.protocol.Protocol`: the online protocol every cell follows (batch size, steps,
  query limit, corruption seed); hashed into each cell id.
* `Runtime`: where and how the cells run - device, threads, workers, cache, plugins, the
  data and results folders, the executor and its cluster, output. Nothing here enters a
  cell id; the executors, their dask workers and `Resources` receive only this part.

`RunSettings` holds the three; `plan_run` reads it, `execute` reads its runtime.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.api.protocol import PROTOCOL, Protocol
from bench.engine.cache import Cache
from bench.engine.parallel import default_workers
from bench.suites.base import Severities


def silent(msg: str) -> None:
    """A `Runtime.log` that prints nothing (a module function: dask workers unpickle it)."""


@dataclass
class Selection:
    """What to run: the cells a run plans, and what each records."""

    methods: list[str]
    suites: list[str]  # names, or ["all"]
    model: str | None = None  # None: each suite's default model
    pretrained: str | None = None  # None: the model's shipped or the suite's default weights
    seeds: list[int] = field(default_factory=lambda: [0])
    severity: Severities = None  # None: each shift's maximum
    shifts: list[str] | None = None  # only the cells of these shifts (ids unchanged)
    directions: str | None = None  # only the cells of this direction (i2t | t2i)
    overrides: dict[str, dict] = field(default_factory=dict)  # method -> {field: value}
    # The model's inputs on real data (part of real-data cell ids, bench/data/preprocess.py)
    image_size: tuple[int, int] | None = None  # override the model's input size
    activation: str | None = None  # quick_gelu | gelu; None: the rule of bench.models.activation
    queries: str = "bench"  # bench | released (TCR's pre-built COCO-C / Flickr-C files)
    skip_unreadable: bool = False  # leave unreadable images out instead of stopping (exit 2)
    # What each cell records besides its metrics (no part of a cell id)
    retention: bool = False  # also measure retention on single streams
    trace_grads: bool = False  # traces also hold each loss term's gradient norm per batch
    diagnostics: bool = True  # rows and traces hold the common-space diagnostics


@dataclass
class Runtime:
    """Where and how the cells run; no field enters a cell id."""

    data_root: Path | None = None  # the real datasets
    out: Path = Path("results")  # the results folder
    built_dir: Path | None = None  # `build --out DIR` output to read (default: beside the data)
    device: str = "auto"  # auto | cpu | cuda
    threads: int | None = None  # torch CPU threads (None: torch's default); recorded in `device`
    workers: int = field(default_factory=default_workers)  # processes building shifted queries
    cache: Cache = field(default_factory=Cache)
    plugins: list[str] = field(default_factory=list)  # plugin files or modules, suite files
    overwrite: bool = False  # redo cells already finished in `out`
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # dask scheduler address; None: a LocalCluster on 127.0.0.1
    dask_workers: int | None = None  # LocalCluster size (default: `workers`), or batch jobs
    cluster: str | None = None  # slurm | pbs: workers as batch jobs (dask-jobqueue)
    cluster_job: dict = field(default_factory=dict)  # dask-jobqueue keyword arguments
    quiet: bool = False  # no progress bars or per-cell lines
    log: Callable[[str], None] = print

    def for_worker(self) -> Runtime:
        """This runtime as a dask worker runs it: every path absolute (a worker may start
        elsewhere), one query-building process, no progress or log lines."""
        return dataclasses.replace(
            self, data_root=_absolute(self.data_root), out=_absolute(self.out),
            built_dir=_absolute(self.built_dir),
            cache=Cache(_absolute(self.cache.root), enabled=self.cache.enabled),
            plugins=[_absolute_file(p) for p in self.plugins], workers=1, quiet=True,
            log=silent)


@dataclass
class RunSettings:
    """One run's settings: what to run, the protocol it follows, the runtime it runs in."""

    selection: Selection
    protocol: Protocol = PROTOCOL
    runtime: Runtime = field(default_factory=Runtime)

    @classmethod
    def of(cls, **fields) -> RunSettings:
        """Settings from flat keyword fields, each handed to the part that has it (studies
        and tests name a few): ``RunSettings.of(methods=["source"], suites=["smoke"],
        limit=8, workers=1)``."""
        parts = []
        for part in (Selection, Protocol, Runtime):
            names = {f.name for f in dataclasses.fields(part)}
            parts.append(part(**{k: fields.pop(k) for k in list(fields) if k in names}))
        if fields:
            raise TypeError(f"unknown run settings: {', '.join(sorted(fields))}")
        return cls(*parts)

    def select(self, **changes) -> RunSettings:
        """These settings with the selection changed (e.g. other methods or overrides)."""
        return dataclasses.replace(self, selection=dataclasses.replace(self.selection,
                                                                       **changes))

    def run_with(self, **changes) -> RunSettings:
        """These settings with the runtime changed (e.g. another folder or executor)."""
        return dataclasses.replace(self, runtime=dataclasses.replace(self.runtime, **changes))


def _absolute(path: Path | str | None) -> Path | None:
    return None if path is None else Path(path).expanduser().resolve()


def _absolute_file(plugin: str) -> str:
    """A plugin or suite file as an absolute path; a module name as it is."""
    path = Path(plugin).expanduser()
    return str(path.resolve()) if path.is_file() else plugin
