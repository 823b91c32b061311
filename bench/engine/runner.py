"""Plan a run (suites x methods x seeds -> cells) and execute it against the store."""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.api.contract import Diverged
from bench.api.errors import BenchError, ConfigError, UnavailableError
from bench.api.protocol import PROTOCOL, TEMPERATURE, Protocol
from bench.api.registry import METHODS, MODELS, SHIFTS, SUITES
from bench.data.check import checked
from bench.data.dataset import RetrievalDataset
from bench.data.preprocess import PRE_CAPTION, InputSpec, recipe_for
from bench.engine.cache import Cache
from bench.engine.cells import Cell
from bench.engine.claims import claim_owner, try_claim
from bench.engine.guards import check_out, check_severities, new_run_id, write_row
from bench.engine.inputs import BuildOptions, QuerySet, build_queries, gallery_embeddings
from bench.engine.loop import protocol_record, run_cell
from bench.engine.method_configs import config_label, make_config
from bench.engine.parallel import default_workers
from bench.engine.provenance import peak_memory_mb, provenance, resolve_device
from bench.engine.store import ResultStore
from bench.models.activation import activation_for
from bench.models.openclip import RANDOM, RetrievalModel
from bench.models.registered import architecture, native_input_size, resolve_model
from bench.models.weights import file_sha256, tag_missing
from bench.suites.base import CellSpec, Severities, Suite, SuiteContext
from bench.suites.streams import plan_stream


@dataclass
class RunOptions:
    methods: list[str]
    suites: list[str]
    model: str | None = None
    pretrained: str | None = None
    data_root: Path | None = None
    out: Path = Path("results")
    seeds: list[int] = field(default_factory=lambda: [0])
    device: str = "auto"
    batch_size: int = PROTOCOL.batch_size
    steps: int = PROTOCOL.steps
    corruption_seed: int = PROTOCOL.corruption_seed  # base of the per-(sample, shift, severity) corruption seeds
    overwrite: bool = False
    limit: int | None = None
    severity: Severities = None
    quiet: bool = False
    workers: int = field(default_factory=default_workers)
    threads: int | None = None  # torch CPU threads (None: torch's default); recorded in `device`
    plugins: list[str] = field(default_factory=list)
    overrides: dict[str, dict] = field(default_factory=dict)  # method -> {field: value}
    retention: bool = False  # also measure retention on single streams
    trace_grads: bool = False  # traces also hold each loss term's gradient norm per batch
    image_size: tuple[int, int] | None = None  # override the model's input size
    activation: str | None = None  # quick_gelu | gelu; None: the rule of bench.models.activation
    queries: str = "bench"  # bench | released (TCR's pre-built COCO-C / Flickr-C files)
    skip_unreadable: bool = False  # leave unreadable images out instead of stopping (exit 2)
    built_dir: Path | None = None  # `build --out DIR` output to read (default: beside the data)
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # dask scheduler address; None: a LocalCluster on 127.0.0.1
    dask_workers: int | None = None  # LocalCluster size (default: --workers), or batch jobs
    cluster: str | None = None  # slurm | pbs: workers as batch jobs (dask-jobqueue)
    cluster_job: dict = field(default_factory=dict)  # dask-jobqueue keyword arguments
    shifts: list[str] | None = None  # run only the cells of these shifts (ids unchanged)
    directions: str | None = None  # run only the cells of this direction (i2t | t2i)
    cache: Cache = field(default_factory=Cache)
    log: Callable[[str], None] = print


def weights_identity(model: str, pretrained: str | None, seed: int, memo: bool = True) -> str:
    """Identify weights without loading them (part of every cell id)."""
    if model in MODELS and hasattr(MODELS.get(model), "weights_identity"):
        return MODELS.get(model).weights_identity(pretrained, seed)  # e.g. BLIP folders
    if pretrained == RANDOM:
        return f"random-seed{seed}"
    if pretrained is None and model in MODELS:
        pretrained = str(MODELS.get(model).default_weights())
    path = Path(pretrained).expanduser() if pretrained else None
    if path is not None and path.is_file():
        return f"sha256:{file_sha256(path, memo=memo)}"
    return f"tag:{model}:{pretrained}"


def _suite_model(suite: Suite, opts: RunOptions) -> tuple[str, str | None]:
    model = opts.model or suite.default_model
    if opts.pretrained:
        return model, opts.pretrained
    if model in MODELS:
        return model, None  # the registered model's shipped checkpoint
    return model, suite.default_pretrained


def _weights_missing(model: str, pretrained: str | None) -> str | None:
    """Why the weights cannot be had (the same answer for `doctor` and `run`), or None."""
    if model in MODELS:
        return MODELS.get(model).missing(pretrained)
    if not pretrained:
        return f"model {model} needs weights: pass --pretrained TAG or PATH"
    path = Path(pretrained).expanduser()
    if pretrained == RANDOM or path.is_file():
        return None
    if path.suffix in (".pt", ".pth", ".bin", ".safetensors", ".ckpt") or "/" in pretrained:
        return f"checkpoint {path} not found"
    return tag_missing(model, pretrained)


def input_spec(suite: Suite, spec, model: str, pretrained: str | None,
               opts: RunOptions) -> InputSpec | None:
    """What a real-data cell feeds the model (bench/data/preprocess.py); None for embedded suites."""
    if suite.embedded:
        if opts.queries != "bench":
            raise BenchError(f"--queries {opts.queries} applies to real data only, not to "
                             f"suite {suite.name}")
        return None
    if opts.queries != "bench" and spec.dataset not in ("coco", "flickr30k"):
        raise BenchError(f"--queries {opts.queries}: suite {suite.name} has no released "
                         "pre-built queries (coco-c, flickr-c and their diverse suites have)")
    recipe = recipe_for(suite.dataset_kind(spec.dataset))
    size = opts.image_size or recipe.image.size or native_input_size(model)
    activation = activation_for(architecture(model), pretrained, opts.activation)
    return InputSpec(recipe.image.at(size), recipe.caption_rule, activation, opts.queries,
                     opts.skip_unreadable)


def plan_run(opts: RunOptions) -> list[Cell]:
    """Expand suites x methods x seeds into cells; skipped suites are reported on one line."""
    for m in opts.methods:
        METHODS.get(m)
    for m in opts.overrides:
        if m not in opts.methods:
            raise BenchError(f"--set names method '{m}' which is not in --method")
    configs = {m: make_config(m, opts.overrides.get(m)) for m in opts.methods}
    names = ([n for n in SUITES.names() if SUITES.get(n).in_all] if opts.suites == ["all"]
             else opts.suites)
    suites = [SUITES.get(n) for n in names]
    check_severities(suites, opts.severity)
    ctx = SuiteContext(data_root=opts.data_root)
    if opts.data_root is not None and not Path(opts.data_root).is_dir():
        raise BenchError(f"data root {opts.data_root} does not exist")
    _check_selection(suites, opts)
    cells = []
    for suite in suites:
        model, pretrained = _suite_model(suite, opts)
        reason = suite.missing(ctx) or _weights_missing(model, pretrained)
        if reason:
            if opts.suites == ["all"]:
                opts.log(f"skip suite {suite.name}: {reason}")
                continue
            raise BenchError(f"suite {suite.name}: {reason}")
        for spec in select_specs(suite.cells(opts.severity), opts):
            for method, config in configs.items():
                for seed in opts.seeds:
                    cells.append(Cell(
                        suite=suite.name, suite_version=suite.version, spec=spec, method=method,
                        label=config_label(method, config), config=config, model=model,
                        pretrained=pretrained or "", seed=seed,
                        weights_id=weights_identity(model, pretrained, seed,
                                                    memo=opts.cache.enabled),
                        protocol=Protocol(batch_size=opts.batch_size, steps=opts.steps,
                                          limit=opts.limit,
                                          corruption_seed=opts.corruption_seed),
                        image_size=opts.image_size, trace_grads=opts.trace_grads,
                        inputs=input_spec(suite, spec, model, pretrained, opts)))
    return cells


def select_specs(specs: list[CellSpec], opts: RunOptions) -> list[CellSpec]:
    """The specs `--shift` and `--direction` keep (a filter: each cell's id is unchanged)."""
    return [s for s in specs if (opts.shifts is None or s.shift in opts.shifts)
            and (opts.directions is None or s.direction == opts.directions)]


def _check_selection(suites: list[Suite], opts: RunOptions) -> None:
    if opts.shifts is None:
        return
    known = {spec.shift for suite in suites for spec in suite.cells(opts.severity)}
    unknown = [name for name in opts.shifts if name not in known]
    if unknown:
        raise ConfigError(f"--shift {','.join(unknown)}: no cell of the chosen suite(s) has it",
                          f"known: {', '.join(sorted(known))}")


class Resources:
    """Models, datasets, galleries and query sets, each made once per run."""

    def __init__(self, opts: RunOptions, device: torch.device):
        self.opts = opts
        self.device = device
        self.build = BuildOptions(cache=opts.cache, workers=opts.workers, quiet=opts.quiet,
                                  plugins=tuple(opts.plugins), built_dir=opts.built_dir)
        self._models: dict[tuple, RetrievalModel] = {}
        self._datasets: dict[tuple, RetrievalDataset] = {}
        self._galleries: dict[tuple, torch.Tensor] = {}
        self._queries: dict[tuple, QuerySet] = {}
        self.images_skipped: dict[tuple, int] = {}  # (suite, dataset) -> images left out

    def model(self, cell: Cell) -> RetrievalModel:
        inputs = cell.inputs
        key = (cell.model, cell.pretrained, cell.seed if cell.pretrained == RANDOM else 0,
               cell.image_size, inputs and inputs.image, inputs and inputs.activation)
        if key not in self._models:
            self._models.clear()  # one model in memory at a time
            self._galleries.clear()
            self._queries.clear()
            self._models[key] = resolve_model(
                cell.model, cell.pretrained or None, self.device, seed=key[2],
                image_size=cell.image_size, prep=inputs and inputs.image,
                activation=inputs and inputs.activation)
        return self._models[key]

    def dataset(self, cell: Cell) -> RetrievalDataset:
        key = (cell.suite, cell.spec.dataset)
        if key not in self._datasets:
            suite = SUITES.get(cell.suite)
            ds = suite.load(cell.spec.dataset, SuiteContext(data_root=self.opts.data_root))
            if cell.inputs is not None:  # real data: every image opens, or exit 2 / skip
                ds, self.images_skipped[key] = checked(ds, cell.inputs.skip_unreadable)
            self._datasets[key] = ds
        return self._datasets[key]

    def gallery(self, cell: Cell) -> torch.Tensor:
        key = (cell.suite, cell.spec.dataset, cell.spec.direction)
        if key not in self._galleries:
            self._galleries[key] = gallery_embeddings(self.dataset(cell), cell.spec.direction,
                                                      self.model(cell), self.build,
                                                      caption_rule=_caption_rule(cell))
        return self._galleries[key]

    def queries(self, cell: Cell, plan, clean: bool = False) -> QuerySet:
        s = cell.spec
        key = (cell.suite, s.dataset, s.direction, s.stream, s.segments, s.shift, s.severity,
               cell.protocol.limit, clean, cell.inputs and cell.inputs.queries,
               cell.protocol.corruption_seed)
        if key not in self._queries:
            build = dataclasses.replace(self.build,
                                        corruption_seed=cell.protocol.corruption_seed)
            if cell.inputs is not None and cell.inputs.queries == "released":
                build = dataclasses.replace(build, released_root=self.opts.data_root)
            self._queries[key] = build_queries(self.dataset(cell), s.direction, plan,
                                               self.model(cell), build, clean=clean,
                                               caption_rule=_caption_rule(cell))
        return self._queries[key]


def _caption_rule(cell: Cell) -> str:
    return cell.inputs.caption_rule if cell.inputs is not None else PRE_CAPTION


def _unavailable_reason(cell: Cell) -> str | None:
    if cell.inputs is not None and cell.inputs.queries == "released":
        return None  # the released files hold every shift (checked before the first cell)
    for seg in cell.spec.stream_segments():
        ok, reason = SHIFTS.get(seg.shift).is_available()
        if not ok:
            return f"shift {seg.shift}: {reason}"
    return None


def segment_minimum(cell: Cell) -> int:
    """Queries per segment a multi-segment stream needs at least (bench.suites.streams); none
    under ``--limit``, which takes the first N queries for a quick look."""
    if cell.protocol.limit is not None:
        return 0
    return cell.spec.min_segment_batches * cell.protocol.batch_size


def _base_row(cell: Cell, device: torch.device) -> dict:
    s = cell.spec
    return {
        "cell_id": cell.cell_id, "suite": cell.suite, "suite_version": cell.suite_version,
        "dataset": s.dataset, "direction": s.direction, "shift": s.shift,
        "severity": s.severity, "stream": s.stream, "method": cell.label,
        "method_config": METHODS.get(cell.method).config_dict(cell.config),
        "method_note": METHODS.get(cell.method).note, "model": cell.model,
        "pretrained": cell.pretrained or "shipped", "seed": cell.seed,
        "inputs": None if cell.inputs is None else cell.inputs.record(),
        **provenance(device),
    }


def execute_cell(cell: Cell, res: Resources, run_id: str, progress: bool) -> dict:
    """Run one cell; always returns a row (ok, failed, diverged or unavailable)."""
    row = _base_row(cell, res.device) | {"run_id": run_id}
    reason = _unavailable_reason(cell)
    if reason:
        return row | {"status": "unavailable", "error": reason}
    start = time.perf_counter()
    try:
        rm, ds = res.model(cell), res.dataset(cell)
        s = cell.spec
        n = ds.n_images if s.direction == "i2t" else ds.n_captions
        plan = plan_stream(n, s.stream_segments(), s.stream, cell.seed, cell.protocol.limit,
                           min_segment=segment_minimum(cell))
        gallery = res.gallery(cell)
        queries = res.queries(cell, plan)
        retention = s.retention or res.opts.retention
        clean = queries if s.shift == "clean" else (  # built only when read (lazily)
            lambda: res.queries(cell, plan.clean_plan(), clean=True))
        method = METHODS.get(cell.method)(cell.config)
        method.trace_grads = cell.trace_grads
        if res.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(res.device)
        t0 = time.perf_counter()
        out = run_cell(method, rm, s.direction, ds.kind, gallery, plan, queries,
                       cell.protocol.steps, cell.protocol.batch_size, cell.seed,
                       clean_queries=clean, retention=retention,
                       progress=None if not progress else cell.title)
        adapt_s = time.perf_counter() - t0
        row |= out.metrics | {
            "status": "ok", "n_queries": out.n_queries, "n_gallery": int(gallery.shape[0]),
            "retention_r1": out.retention_r1, "segment_r1": out.segment_r1 or None,
            "method_state": out.method_state,
            "queries_per_s": out.n_queries / max(adapt_s, 1e-9),
            "protocol": protocol_record(cell.protocol.steps, cell.protocol.batch_size,
                                        TEMPERATURE[ds.kind], cell.protocol.limit,
                                        cell.protocol.corruption_seed,
                                        int((~queries.usable).sum())),
        }
        if cell.inputs is not None and cell.inputs.skip_unreadable:
            record = json.loads(row["protocol"])
            record["images_skipped"] = res.images_skipped.get((cell.suite, s.dataset), 0)
            row["protocol"] = json.dumps(record, sort_keys=True)
        row["_trace"] = out.trace
        row["_outcomes"] = out.outcomes
    except Diverged as err:
        row |= {"status": "diverged", "error": str(err)}
    except UnavailableError as err:
        row |= {"status": "unavailable", "error": str(err)}
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a failing cell is recorded and the run goes on
        where = traceback.extract_tb(err.__traceback__)[-1]
        row |= {"status": "failed",
                "error": f"{type(err).__name__}: {err} (at {Path(where.filename).name}:{where.lineno})"}
    row["wall_s"] = time.perf_counter() - start
    row["peak_mem_mb"] = peak_memory_mb(res.device)
    return row


def check_released(cells: list[Cell], res: Resources) -> None:
    """With `--queries released`, every released file the cells need exists (else exit 2)."""
    from bench.api.errors import DataError
    from bench.data.released import missing_released

    problems, seen = [], set()
    for cell in cells:
        if cell.inputs is None or cell.inputs.queries != "released":
            continue
        for seg in cell.spec.stream_segments():
            key = (cell.suite, cell.spec.dataset, seg.shift, seg.severity)
            if seg.shift == "clean" or key in seen:
                continue
            seen.add(key)
            why = missing_released(res.dataset(cell), res.opts.data_root, seg.shift,
                                   seg.severity, SHIFTS.get(seg.shift).modality)
            if why:
                problems.append(why)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DataError(f"--queries released: {problems[0]}{more}",
                        "TCR's coco-IP/, coco-TP/, flickr-IP/, flickr-TP/ go beside coco/ and "
                        "flickr30k/ under --data-root")


def _summary(k: int, n: int, cell: Cell, row: dict) -> str:
    head = f"[{k}/{n}] {cell.title}"
    if row["status"] != "ok":
        return f"{head}: {row['status']}: {row.get('error', '')}"
    extra = ""
    if row.get("retention_r1") == row.get("retention_r1") and row.get("retention_r1") is not None:
        extra = f" retention R@1 {row['retention_r1']:.1f}"
    return (f"{head}: R@1 {row['r1']:.1f} R@5 {row['r5']:.1f} R@10 {row['r10']:.1f} "
            f"mAP {row['map']:.1f}{extra} ({row['wall_s']:.1f}s)")


def execute(cells: list[Cell], opts: RunOptions) -> dict[str, int]:
    """Run the cells not yet finished in the store; returns counts per status.

    A cell claimed by another live run into the same folder is left to it
    (counted as ``elsewhere``).
    """
    store = ResultStore(opts.out)
    todo = [c for c in cells if opts.overwrite or not store.is_finished(c.cell_id)]
    counts = {"planned": len(cells), "skipped": len(cells) - len(todo)}
    if not todo:
        opts.log(f"all {len(cells)} cells are already in {opts.out}: nothing to do "
                 "(--overwrite redoes them)")
        return counts
    check_out(opts.out)
    removed = store.remove_leftovers()
    if removed:
        opts.log(f"removed {len(removed)} temporary file(s) left by an interrupted run")
    if counts["skipped"]:
        opts.log(f"{counts['skipped']} of {len(cells)} cells already in {opts.out}; "
                 f"running {len(todo)}")
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = resolve_device(opts.device) if opts.executor == "local" else torch.device("cpu")
    run_id = new_run_id(provenance(device)["git_sha"])

    def on_row(k: int, cell: Cell, row: dict) -> None:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        if not opts.quiet:
            opts.log(_summary(k, len(todo), cell, row))

    if opts.executor == "dask":  # the client loads no model: the workers do
        from bench.engine.executors import cluster_spec, run_dask
        real = [c for c in todo if not SUITES.get(c.suite).embedded]
        if real:  # real data: bad input (unreadable images, missing files) fails now
            checking = Resources(opts, torch.device("cpu"))
            for cell in real:
                checking.dataset(cell)
            check_released(real, checking)
        run_dask(todo, opts, run_id, on_row, cluster_spec(opts))
        return counts
    res = Resources(opts, device)
    # Load every model and dataset first: bad input fails now, before any row is written.
    for cell in todo:
        res.dataset(cell)
    check_released(todo, res)
    seen_models = set()
    for cell in todo:
        if (cell.model, cell.pretrained) not in seen_models:
            seen_models.add((cell.model, cell.pretrained))
            res.model(cell)
    elsewhere = []
    for k, cell in enumerate(todo, 1):
        claim = try_claim(opts.out, cell.cell_id, run_id)
        if claim is None:  # another live run computes it
            elsewhere.append(claim_owner(opts.out, cell.cell_id))
            continue
        with claim:
            if not opts.overwrite and store.is_finished(cell.cell_id):
                counts["skipped"] += 1  # another run finished it meanwhile
                continue
            row = execute_cell(cell, res, run_id, progress=not opts.quiet)
            trace = row.pop("_trace", None)
            write_row(store, row, trace, row.pop("_outcomes", None))
        on_row(k, cell, row)
    if elsewhere:
        counts["elsewhere"] = len(elsewhere)
        owners = sorted({o for o in elsewhere if o})
        opts.log(f"{len(elsewhere)} cells are being computed by another run"
                 f"{' (' + ', '.join(owners) + ')' if owners else ''}: left to it")
    return counts
