"""Dataset formats a suite file can name: how a ``[datasets.KEY]`` table becomes a dataset.

A format reads the table's parameters, says what it needs under ``--data-root`` (nothing
for bench's generated data) and loads the dataset. bench's own:

* ``mini-scenes`` (``split``, ``images``): the generated scenes (bench.data.synth); ``images``
  keeps the first N images of the split.
* ``mini-pedes`` (``style``, ``first_captions``): the generated pedestrians.
* ``layout`` (``layout``): a dataset bench knows in its released layouts
  (bench/data/layouts.py: coco, flickr30k, the person-search sets, nocaps, fashion-gen, rsicd,
  rsitmd, ucm-captions), found under the data root.
* ``karpathy`` (``annotation``, ``images``, ``split``, ``captions_per_image``): any
  Karpathy-split JSON, the annotation file and image folder given relative to the data root.
* Composed queries (reference image + modification text, direction ``ti2i``;
  bench/data/composed.py): ``mini-cir`` (generated), ``fashioniq`` (``category``: dress,
  shirt or toptee; its validation split) and ``cirr`` (CIRR's validation split), the last two
  in their official layouts under the data root.

A new on-disk format is the one thing that needs Python: `register_dataset_format` in a
plugin, then suite files name it like bench's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.errors import ConfigError, DataError
from bench.data.dataset import RetrievalDataset
from bench.suites.base import SuiteContext

Params = Mapping[str, Any]


@dataclass(frozen=True)
class DatasetFormat:
    """How one kind of ``[datasets.KEY]`` table loads its dataset.

    ``params``: accepted keys -> (type, default); a default of ``REQUIRED`` must be given.
    ``needs(params)``: what the dataset needs under --data-root, one short phrase; None for
    data bench generates. ``missing(params, root)``: why it cannot be loaded from `root`,
    or None. ``load(key, params, ctx)``: the dataset (its test split)."""

    name: str
    params: Mapping[str, tuple[type, Any]]
    load: Callable[[str, Params, SuiteContext], RetrievalDataset]
    needs: Callable[[Params], str] | None = None
    missing: Callable[[Params, Path], str | None] = lambda params, root: None

    @property
    def generated(self) -> bool:
        return self.needs is None


REQUIRED = object()
FORMATS: dict[str, DatasetFormat] = {}


def register_dataset_format(fmt: DatasetFormat) -> DatasetFormat:
    if fmt.name in FORMATS and FORMATS[fmt.name] is not fmt:
        raise ConfigError(f"dataset format '{fmt.name}' is registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


def dataset_format(name: str, where: str) -> DatasetFormat:
    if name not in FORMATS:
        raise ConfigError(f"{where}: unknown dataset format '{name}'",
                          f"known: {', '.join(sorted(FORMATS))} (a new one: "
                          "register_dataset_format in a plugin)")
    return FORMATS[name]


def check_params(fmt: DatasetFormat, table: Params, where: str) -> dict[str, Any]:
    """The format's parameters from `table` (defaults filled in), checked for names and types."""
    unknown = sorted(set(table) - set(fmt.params))
    if unknown:
        raise ConfigError(f"{where}: format '{fmt.name}' has no parameter "
                          f"{', '.join(repr(k) for k in unknown)}",
                          f"its parameters: {', '.join(fmt.params) or 'none'}")
    out = {}
    for key, (kind, default) in fmt.params.items():
        if key not in table:
            if default is REQUIRED:
                raise ConfigError(f"{where}: format '{fmt.name}' needs '{key}'")
            out[key] = default
            continue
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{where}: '{key}' must be {kind.__name__}, not {value!r}")
        out[key] = value
    return out


def under_root(root: Path, rel: str, where: str) -> Path:
    """``root / rel``, refused when `rel` leads outside the data root: the check the
    annotation loaders make on every image path (bench.data._annot.inside)."""
    from bench.data._annot import inside

    try:
        return inside(root, rel, Path(where), 0)
    except DataError as err:
        raise ConfigError(f"{where}: path '{rel}' leads outside --data-root {root}",
                          "suite file paths are relative to the data root") from err


# ---- bench's generated data -------------------------------------------------------------------

def _mini_scenes(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    import numpy as np

    from bench.data.synth import load_mini_scenes
    ds = load_mini_scenes(split=params["split"], progress=not ctx.quiet)
    return ds if params["images"] is None else ds.subset_images(np.arange(params["images"]))


def _mini_pedes(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.synth import load_mini_pedes
    ds = load_mini_pedes(style=params["style"], split="test", progress=not ctx.quiet)
    first = params["first_captions"]
    return ds if first is None else ds.first_captions(first)


register_dataset_format(DatasetFormat(
    "mini-scenes", {"split": (str, "test"), "images": (int, None)}, _mini_scenes))
def _mini_cir(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.synth import load_mini_cir
    return load_mini_cir(progress=not ctx.quiet)


register_dataset_format(DatasetFormat(
    "mini-pedes", {"style": (str, REQUIRED), "first_captions": (int, None)}, _mini_pedes))
register_dataset_format(DatasetFormat("mini-cir", {}, _mini_cir))


# ---- data under --data-root -------------------------------------------------------------------

def _layout_key(params: Params) -> str:
    from bench.data.layouts import LAYOUTS
    key = params["layout"]
    if key not in LAYOUTS:
        raise ConfigError(f"unknown dataset layout '{key}'", f"known: {', '.join(LAYOUTS)}")
    return key


def _layout_needs(params: Params) -> str:
    from bench.data.layouts import looked_for
    key = _layout_key(params)
    return f"{key}: {looked_for(key)}"


def _layout_missing(params: Params, root: Path) -> str | None:
    from bench.data.layouts import missing_reason
    return missing_reason(_layout_key(params), root)


def _layout_load(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.layouts import load_layout
    return load_layout(_layout_key(params), Path(ctx.data_root), name=key)


register_dataset_format(DatasetFormat(
    "layout", {"layout": (str, REQUIRED)}, _layout_load, _layout_needs, _layout_missing))


def _karpathy_needs(params: Params) -> str:
    return f"{params['annotation']} (images in {params['images']}/)"


def _karpathy_missing(params: Params, root: Path) -> str | None:
    path = Path(root) / params["annotation"]
    if path.is_file():
        return None
    return f"annotation file {path} not found (the suite file names it under --data-root)"


def _karpathy_load(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.karpathy import load_karpathy
    root = Path(ctx.data_root)
    anno = under_root(root, params["annotation"], f"dataset {key}")
    images = under_root(root, params["images"], f"dataset {key}")
    return load_karpathy(anno, images, split=params["split"],
                         captions_per_image=params["captions_per_image"], name=key)


register_dataset_format(DatasetFormat(
    "karpathy", {"annotation": (str, REQUIRED), "images": (str, REQUIRED),
                 "split": (str, "test"), "captions_per_image": (int, 5)},
    _karpathy_load, _karpathy_needs, _karpathy_missing))


def _fashioniq_needs(params: Params) -> str:
    from bench.data.composed import FASHIONIQ_LAYOUT
    return FASHIONIQ_LAYOUT


def _fashioniq_missing(params: Params, root: Path) -> str | None:
    from bench.data.composed import fashioniq_missing
    return fashioniq_missing(Path(root), params["category"])


def _fashioniq_load(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.composed import load_fashioniq
    return load_fashioniq(Path(ctx.data_root), params["category"])


register_dataset_format(DatasetFormat(
    "fashioniq", {"category": (str, REQUIRED)}, _fashioniq_load, _fashioniq_needs,
    _fashioniq_missing))


def _cirr_needs(params: Params) -> str:
    from bench.data.composed import CIRR_LAYOUT
    return CIRR_LAYOUT


def _cirr_missing(params: Params, root: Path) -> str | None:
    from bench.data.composed import cirr_missing
    return cirr_missing(Path(root))


def _cirr_load(key: str, params: Params, ctx: SuiteContext) -> RetrievalDataset:
    from bench.data.composed import load_cirr
    return load_cirr(Path(ctx.data_root))


register_dataset_format(DatasetFormat("cirr", {}, _cirr_load, _cirr_needs, _cirr_missing))
