"""Plan a run: options, suites x methods x seeds -> cells (each with its weights identity)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.api.errors import BenchError, ConfigError
from bench.api.protocol import PROTOCOL, Protocol
from bench.api.registry import METHODS, MODELS, SUITES
from bench.data.preprocess import InputSpec, recipe_for
from bench.engine.cache import Cache
from bench.engine.cells import Cell
from bench.engine.guards import check_severities
from bench.engine.method_configs import config_label, make_config
from bench.engine.parallel import default_workers
from bench.models.activation import activation_for
from bench.models.openclip import RANDOM
from bench.models.registered import architecture, native_input_size
from bench.models.registered import weights_identity as file_or_tag_identity
from bench.models.weights import tag_missing
from bench.suites.base import CellSpec, Severities, Suite, SuiteContext


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
    diagnostics: bool = True  # rows and traces hold the common-space diagnostics
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
    """Identify weights without loading them (part of every cell id): a registered model's
    own rule (`Backbone.weights_identity`, e.g. BLIP folders), else a file's hash or a tag."""
    if model in MODELS:
        return MODELS.get(model).weights_identity(pretrained, seed, memo=memo)
    return file_or_tag_identity(model, pretrained, seed, memo)


def suite_model(suite: Suite, opts: RunOptions) -> tuple[str, str | None]:
    """The model and weights a suite's cells use under these options (None: shipped weights)."""
    model = opts.model or suite.default_model
    if opts.pretrained:
        return model, opts.pretrained
    if model in MODELS:
        return model, None  # the registered model's shipped checkpoint
    return model, suite.default_pretrained


def weights_missing(model: str, pretrained: str | None) -> str | None:
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
        model, pretrained = suite_model(suite, opts)
        reason = suite.missing(ctx) or weights_missing(model, pretrained)
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
                        diagnostics=opts.diagnostics,
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
