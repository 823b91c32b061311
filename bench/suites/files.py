"""Suite files: a suite is a TOML file (docs/suites.md), read here and only here.

A file names the suite, its version and default model, its datasets (each a format of
bench/suites/formats.py with its parameters) and its cells: groups of directions x shifts
(x severities), or multi-segment streams. bench's own suites are such files
(bench/suites/builtin/, registered in the order of its index.toml); a user adds one with
``--suite-file my_suite.toml`` or a ``bench.suites`` entry point naming a file inside a package
(``my_suite = "mypkg:suites/my_suite.toml"``).

Shift names in a cell group's ``shifts`` list are registered shifts, ``clean``, one of the
sets of bench's own shifts: ``image:all`` (16 image corruptions), ``text:all`` (15 text
corruptions), ``text:offline`` (the character- and word-level ones, which need no model),
or, for composed queries (direction ``ti2i``), a pair ``IMAGE+TEXT``: the image shift on the
reference and the text shift on the modification at once (bench.shifts.pair_shift).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bench.api.contract import COMPOSED
from bench.api.errors import ConfigError
from bench.api.registry import SHIFTS, SUITES
from bench.api.toml import TOMLDecodeError, parse_toml
from bench.shifts import CLEAN, PAIR, builtin_shifts, pair_shift
from bench.suites.base import (
    CellSpec,
    Severities,
    Suite,
    SuiteContext,
    diverse_cells,
    severities_for,
)
from bench.suites.formats import check_params, dataset_format

SHIFT_SETS: dict[str, tuple[str, ...]] = {
    "image:all": builtin_shifts("image"),
    "text:all": builtin_shifts("text"),
    "text:offline": builtin_shifts("text", groups=("char", "word")),
}
DIRECTIONS = ("i2t", "t2i")  # a group's default: both
KNOWN_DIRECTIONS = (*DIRECTIONS, COMPOSED)
KINDS = ("captions", "reid", "fashion", "composed")
_TOP = {"name", "version", "description", "model", "pretrained", "in_all", "datasets", "cells"}
_DATASET = {"format", "kind"}
_CELLS = {"dataset", "direction", "directions", "shifts", "severity", "default_severity", "mix",
          "streams", "severity_shift", "min_segment_batches", "retention"}
BUILTIN = Path(__file__).with_name("builtin")


def read_suite_file(path: Path | Traversable) -> Suite:
    """The suite a TOML file defines (ConfigError, one line naming the file, if malformed)."""
    where = str(path)
    try:
        table = parse_toml(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read suite file {where}: {err.strerror or err}") from err
    except TOMLDecodeError as err:
        raise ConfigError(f"suite file {where} is not valid TOML: {err}") from err
    return suite_from_table(table, where)


def _get(table: Mapping, key: str, kind: type | tuple[type, ...], where: str,
         default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{where}: missing '{key}'")
        return default
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}: '{key}' has the wrong type ({value!r})")
    return value


def _no_unknown(table: Mapping, known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}",
                          f"known: {', '.join(sorted(known))} (docs/suites.md)")


def suite_from_table(table: Mapping[str, Any], where: str) -> Suite:
    _no_unknown(table, _TOP, where)
    name = _get(table, "name", str, where)
    where = f"suite file {where} (suite {name})"
    datasets = _datasets(_get(table, "datasets", dict, where), where)
    groups = _get(table, "cells", list, where)
    if not groups:
        raise ConfigError(f"{where}: no [[cells]]")
    checked = [_cell_group(g, datasets, f"{where} [[cells]] {i + 1}")
               for i, g in enumerate(groups)]
    generated = all(fmt.generated for fmt, _, _ in datasets.values())
    if not generated and any(fmt.generated for fmt, _, _ in datasets.values()):
        raise ConfigError(f"{where}: mixes generated datasets and data under --data-root",
                          "split it into two suites")

    def make_cells(severities: Severities) -> list[CellSpec]:
        return [spec for g in checked for spec in _expand(g, severities)]

    def load(key: str):
        fmt, params, _ = datasets[key]
        return lambda ctx: fmt.load(key, params, ctx)

    # one phrase per distinct need (the FashionIQ categories share one layout)
    needs = tuple(dict.fromkeys(fmt.needs(params) for fmt, params, _ in datasets.values()
                                if fmt.needs))

    def requires(ctx: SuiteContext) -> str | None:
        if not needs:
            return None
        if ctx.data_root is None:
            return f"needs --data-root DIR holding one of {'; '.join(needs)} (README: Real data)"
        reasons = [fmt.missing(params, Path(ctx.data_root))
                   for fmt, params, _ in datasets.values()]
        return "; ".join(r for r in reasons if r) or None

    version = _get(table, "version", (str, int), where)
    return Suite(
        name=name, version=str(version), description=_get(table, "description", str, where, ""),
        loaders={key: load(key) for key in datasets}, make_cells=make_cells, requires=requires,
        default_model=_get(table, "model", str, where),
        default_pretrained=_get(table, "pretrained", str, where, None), embedded=generated,
        dataset_kinds={k: kind for k, (_, _, kind) in datasets.items() if kind},
        in_all=_get(table, "in_all", bool, where, True), data_needs=needs)


def _datasets(tables: Mapping[str, Any], where: str) -> dict[str, tuple]:
    if not tables:
        raise ConfigError(f"{where}: no [datasets.KEY] table")
    out = {}
    for key, table in tables.items():
        at = f"{where} [datasets.{key}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: not a table")
        fmt = dataset_format(_get(table, "format", str, at), at)
        kind = _get(table, "kind", str, at, None)
        if kind is None and not fmt.generated:
            raise ConfigError(f"{at}: missing 'kind'", f"one of {', '.join(KINDS)}: it picks "
                              "the preprocessing and the softmax temperature")
        if kind is not None and kind not in KINDS:
            raise ConfigError(f"{at}: unknown kind '{kind}'", f"one of {', '.join(KINDS)}")
        params = check_params(fmt, {k: v for k, v in table.items() if k not in _DATASET}, at)
        out[key] = (fmt, params, kind)
    return out


def _shift_names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: 'shifts' must be a non-empty list of names",
                          f"shift names, clean, or a set: {', '.join(SHIFT_SETS)}")
    out: list[str] = []
    for name in value:
        if PAIR in name:
            image, _, text = name.partition(PAIR)
            try:
                name = pair_shift(image, text)  # registered on first use
            except ValueError as err:
                raise ConfigError(f"{where}: {err}") from err
        out.extend(SHIFT_SETS.get(name, (name,)))
    return tuple(out)


def _cell_group(table: Any, datasets: Mapping[str, tuple], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: not a table")
    _no_unknown(table, _CELLS, where)
    dataset = _get(table, "dataset", str, where)
    if dataset not in datasets:
        raise ConfigError(f"{where}: dataset '{dataset}' is not in [datasets]",
                          f"declared: {', '.join(datasets)}")
    if "direction" in table and "directions" in table:
        raise ConfigError(f"{where}: give 'direction' or 'directions', not both")
    directions = ([_get(table, "direction", str, where)] if "direction" in table
                  else _get(table, "directions", list, where, list(DIRECTIONS)))
    bad = [d for d in directions if d not in KNOWN_DIRECTIONS]
    if bad or not directions:
        raise ConfigError(f"{where}: bad direction {bad or directions}",
                          f"one of {', '.join(KNOWN_DIRECTIONS)}")
    group = {"dataset": dataset, "directions": tuple(directions),
             "shifts": _shift_names(table.get("shifts"), where),
             "severity": _get(table, "severity", int, where, None),
             "default_severity": _get(table, "default_severity", int, where, None),
             "mix": _get(table, "mix", str, where, None)}
    if group["severity"] is not None and group["default_severity"] is not None:
        raise ConfigError(f"{where}: give 'severity' (fixed) or 'default_severity', not both")
    if group["default_severity"] is not None:
        if group["mix"] is not None:
            raise ConfigError(f"{where}: 'default_severity' is for single-shift cells; a 'mix' "
                              "group's level is 'severity'")
        lacking = [sh for sh in group["shifts"] if sh != CLEAN and sh in SHIFTS
                   and group["default_severity"] not in SHIFTS.get(sh).levels]
        if lacking:
            raise ConfigError(f"{where}: default_severity {group['default_severity']} is not a "
                              f"level of {', '.join(lacking)}")
    if group["mix"] is None:
        stream_keys = sorted({"streams", "severity_shift", "min_segment_batches", "retention"}
                             & set(table))
        if stream_keys:
            raise ConfigError(f"{where}: {', '.join(stream_keys)} need 'mix' (the stream's name)")
        return group
    group.update(streams=tuple(_get(table, "streams", list, where, ["mixed", "continual"])),
                 severity_shift=_get(table, "severity_shift", str, where, None),
                 min_segment_batches=_get(table, "min_segment_batches", int, where, 0),
                 retention=_get(table, "retention", bool, where, True))
    return group


def _expand(group: Mapping[str, Any], severities: Severities) -> list[CellSpec]:
    """The cells of one group, direction by direction, shift by shift, severity by severity.
    ``clean`` is one cell at severity 0; a group's ``severity`` fixes the level of its shifts
    (the chosen severities then do not apply), its ``default_severity`` is the level run when
    none is chosen (instead of each shift's maximum); ``mix`` makes multi-segment streams."""
    out = []
    for direction in group["directions"]:
        if group["mix"] is not None:
            out += diverse_cells(group["dataset"], direction, group["mix"], group["shifts"],
                                 severity=group["severity"],
                                 severity_shift=group["severity_shift"],
                                 streams=group["streams"], retention=group["retention"],
                                 min_segment_batches=group["min_segment_batches"])
            continue
        for shift in group["shifts"]:
            if shift == CLEAN:
                levels = [0]
            elif group["severity"] is not None:
                levels = [group["severity"]]
            elif severities is None and group["default_severity"] is not None:
                levels = [group["default_severity"]]
            else:
                levels = severities_for(shift, severities)
            out += [CellSpec(group["dataset"], direction, shift, lv) for lv in levels]
    return out


def builtin_suite_files() -> list[Path]:
    """bench's own suite files, in the order of builtin/index.toml (the order of `list
    suites`, of ``--suite all`` and of the tables)."""
    order = parse_toml((BUILTIN / "index.toml").read_text(encoding="utf-8"))["suites"]
    return [BUILTIN / f"{name}.toml" for name in order]


def register_suite_file(path: Path | Traversable | str, origin: str | None = None) -> Suite:
    suite = read_suite_file(Path(path) if isinstance(path, (str, os.PathLike)) else path)
    SUITES.add(suite.name, suite, origin=origin)
    return suite


def register_builtin_suites() -> None:
    for path in builtin_suite_files():
        register_suite_file(path, origin="bench")


SUITES.file_loader = read_suite_file
register_builtin_suites()
