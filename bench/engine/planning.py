"""Plan a run: its settings (bench.engine.settings), suites x methods x seeds -> cells (each
with its weights identity)."""

from __future__ import annotations

from pathlib import Path

from bench.api.errors import BenchError, ConfigError
from bench.api.registry import METHODS, MODELS, SUITES
from bench.data.preprocess import InputSpec, recipe_for
from bench.engine.cells import Cell
from bench.engine.guards import check_severities
from bench.engine.method_configs import config_label, make_config
from bench.engine.settings import RunSettings, Selection
from bench.models.activation import activation_for
from bench.models.openclip import RANDOM
from bench.models.registered import architecture, native_input_size
from bench.models.registered import weights_identity as file_or_tag_identity
from bench.models.weights import tag_missing
from bench.suites.base import CellSpec, Suite, SuiteContext


def weights_identity(model: str, pretrained: str | None, seed: int, memo: bool = True) -> str:
    """Identify weights without loading them (part of every cell id): a registered model's
    own rule (`Backbone.weights_identity`, e.g. BLIP folders), else a file's hash or a tag."""
    if model in MODELS:
        return MODELS.get(model).weights_identity(pretrained, seed, memo=memo)
    return file_or_tag_identity(model, pretrained, seed, memo)


def suite_model(suite: Suite, selection: Selection) -> tuple[str, str | None]:
    """The model and weights a suite's cells use under this selection (None: shipped weights)."""
    model = selection.model or suite.default_model
    if selection.pretrained:
        return model, selection.pretrained
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
               selection: Selection) -> InputSpec | None:
    """What a real-data cell feeds the model (bench/data/preprocess.py); None for embedded suites."""
    if suite.embedded:
        if selection.queries != "bench":
            raise BenchError(f"--queries {selection.queries} applies to real data only, not to "
                             f"suite {suite.name}")
        return None
    if selection.queries != "bench" and spec.dataset not in ("coco", "flickr30k"):
        raise BenchError(f"--queries {selection.queries}: suite {suite.name} has no released "
                         "pre-built queries (coco-c, flickr-c and their diverse suites have)")
    recipe = recipe_for(suite.dataset_kind(spec.dataset))
    size = selection.image_size or recipe.image.size or native_input_size(model)
    activation = activation_for(architecture(model), pretrained, selection.activation)
    return InputSpec(recipe.image.at(size), recipe.caption_rule, activation, selection.queries,
                     selection.skip_unreadable)


def plan_run(settings: RunSettings) -> list[Cell]:
    """Expand suites x methods x seeds into cells; skipped suites are reported on one line."""
    sel, runtime = settings.selection, settings.runtime
    for m in sel.methods:
        METHODS.get(m)
    for m in sel.overrides:
        if m not in sel.methods:
            raise BenchError(f"--set names method '{m}' which is not in --method")
    configs = {m: make_config(m, sel.overrides.get(m)) for m in sel.methods}
    names = ([n for n in SUITES.names() if SUITES.get(n).in_all] if sel.suites == ["all"]
             else sel.suites)
    suites = [SUITES.get(n) for n in names]
    check_severities(suites, sel.severity)
    ctx = SuiteContext(data_root=runtime.data_root)
    if runtime.data_root is not None and not Path(runtime.data_root).is_dir():
        raise BenchError(f"data root {runtime.data_root} does not exist")
    _check_selection(suites, sel)
    cells = []
    for suite in suites:
        model, pretrained = suite_model(suite, sel)
        reason = suite.missing(ctx) or weights_missing(model, pretrained)
        if reason:
            if sel.suites == ["all"]:
                runtime.log(f"skip suite {suite.name}: {reason}")
                continue
            raise BenchError(f"suite {suite.name}: {reason}")
        for spec in select_specs(suite.cells(sel.severity), sel):
            for method, config in configs.items():
                for seed in sel.seeds:
                    cells.append(Cell(
                        suite=suite.name, suite_version=suite.version, spec=spec, method=method,
                        label=config_label(method, config), config=config, model=model,
                        pretrained=pretrained or "", seed=seed,
                        weights_id=weights_identity(model, pretrained, seed,
                                                    memo=runtime.cache.enabled),
                        protocol=settings.protocol, image_size=sel.image_size,
                        trace_grads=sel.trace_grads, diagnostics=sel.diagnostics,
                        retention=sel.retention,
                        inputs=input_spec(suite, spec, model, pretrained, sel)))
    return cells


def select_specs(specs: list[CellSpec], selection: Selection) -> list[CellSpec]:
    """The specs `--shift` and `--direction` keep (a filter: each cell's id is unchanged)."""
    return [s for s in specs if (selection.shifts is None or s.shift in selection.shifts)
            and (selection.directions is None or s.direction == selection.directions)]


def _check_selection(suites: list[Suite], selection: Selection) -> None:
    if selection.shifts is None:
        return
    known = {spec.shift for suite in suites for spec in suite.cells(selection.severity)}
    unknown = [name for name in selection.shifts if name not in known]
    if unknown:
        raise ConfigError(f"--shift {','.join(unknown)}: no cell of the chosen suite(s) has it",
                          f"known: {', '.join(sorted(known))}")
