"""`bench compare`: the paired test of two methods on every cell they have in common.

A cell is paired only with the other method's cell of the same suite, dataset,
direction, stream, shift, severity, model and identity (weights, protocol, inputs),
on the same seeds and stream positions. Each row gives both values with their 95 %
intervals, Δ = method - baseline with its paired bootstrap interval, the exact sign
test on discordant queries (Holm-adjusted across the cells) and the discordant
counts; the last row pools every paired cell (each with equal weight).
"""

from __future__ import annotations

import pandas as pd

from bench.api.errors import ConfigError
from bench.report import stats
from bench.report.order import prepare, shift_key
from bench.report.significance import Outcomes
from bench.report.tables import METRIC_LABELS, METRICS, Table, TableCell

CELL_KEYS = ["suite", "dataset", "direction", "stream", "shift", "severity", "model", "identity"]
TESTS = ["Δ", "p (Holm)", "better / worse", "paired queries"]
POOLED = "all paired cells (pooled)"


def _one_config(df: pd.DataFrame, method: str) -> pd.DataFrame:
    rows = df[df["method"] == method]
    if rows.empty:
        raise ConfigError(f"no results for method '{method}'",
                          f"present: {', '.join(sorted(set(df['method'])))}")
    configs = sorted(set(rows["method_config"]))
    if len(configs) > 1:
        raise ConfigError(f"method '{method}' was run with {len(configs)} configs here",
                          "compare results folders that hold one config per method")
    return rows[rows["status"] == "ok"]


def _label(key: tuple, many_models: bool) -> str:
    suite, dataset, direction, stream, shift, severity, model, _ = key
    where = f"{shift}@{severity}" if shift != "clean" else shift
    text = f"{suite} · {dataset} · {direction} · {stream} · {where}"
    return f"{text} ({model})" if many_models else text


def _value(sample: stats.Sample | None, rows: pd.DataFrame, metric: str, name: tuple) -> TableCell:
    if sample is None:
        return TableCell(float(rows[metric].mean()), status="ok")
    iv = stats.interval(sample, rng=stats.rng_for("compare", *name))
    return TableCell(float(rows[metric].mean()), status="ok", lo=iv.lo, hi=iv.hi)


def compare_table(df: pd.DataFrame, outcomes: pd.DataFrame | None, method: str,
                  baseline: str, metric: str = "r1", per_query: Outcomes | None = None,
                  prepared: bool = False) -> Table:
    """One row per common cell (in a fixed order), then the pooled row. `per_query`: the
    metric's per-query values when the caller has them already (several pairs share them;
    grouping the outcomes by cell is most of a pair's cost); else made from `outcomes`.
    `prepared`: `df` is `bench.report.order.prepare`'s output already."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}'", f"known: {', '.join(METRICS)}")
    if method == baseline:
        raise ConfigError("--method and --baseline are the same method")
    df = df if prepared else prepare(df)
    a, b = _one_config(df, method), _one_config(df, baseline)
    per_query = per_query if per_query is not None else Outcomes(outcomes, metric)
    ga, gb = dict(iter(a.groupby(CELL_KEYS))), dict(iter(b.groupby(CELL_KEYS)))
    common = sorted(ga.keys() & gb.keys(),
                    key=lambda k: (*k[:4], shift_key(k[4]), k[5], k[6], k[7]))
    if not common:
        raise ConfigError(f"'{method}' and '{baseline}' have no cell in common",
                          "same suite, shift, severity, model, weights and protocol")
    many_models = len({k[6] for k in common}) > 1
    table = Table(f"{method} vs {baseline} — {METRIC_LABELS[metric]} (%), paired on the same "
                  "queries", "compare", [method, baseline, *TESTS], row_header="cell")
    tests, pooled_a, pooled_b, untested = [], {}, {}, 0
    for key in common:
        label = _label(key, many_models)
        sa, sb = per_query.sample(ga[key]), per_query.sample(gb[key])
        line = [_value(sa, ga[key], metric, (label, method)),
                _value(sb, gb[key], metric, (label, baseline))]
        p = None if sa is None or sb is None else \
            stats.paired(sa, sb, rng=stats.rng_for("compare", label))
        if p is None:
            untested += 1
            line += [TableCell(status="n/a") for _ in TESTS]
        else:
            tests.append((len(table.rows), p))
            pooled_a[key], pooled_b[key] = sa, sb
            line += _test_cells(p)
        table.add_row(label, line)
    for (i, p), adj in zip(tests, stats.holm([p.p for _, p in tests]), strict=True):
        _set_p(table.cells[i], p, float(adj))
    if pooled_a:
        sa, sb = stats.combine(pooled_a), stats.combine(pooled_b)
        p = stats.paired(sa, sb, rng=stats.rng_for("compare", "pooled"))
        cells = [_value(sa, a, metric, ("pooled", method)), _value(sb, b, metric, ("pooled",
                                                                                  baseline))]
        cells[0].value, cells[1].value = stats.point(sa), stats.point(sb)
        line = cells + _test_cells(p)
        _set_p(line, p, p.p)
        table.add_row(POOLED, line)
    table.notes += _notes(method, baseline, untested, len(common))
    return table


def _test_cells(p: stats.Paired) -> list[TableCell]:
    return [TableCell(p.delta, status="ok", lo=p.lo, hi=p.hi, signed=True),
            TableCell(text=""), TableCell(text=f"{p.better} / {p.worse}"), TableCell(text=str(p.n))]


def _set_p(line: list[TableCell], p: stats.Paired, adjusted: float) -> None:
    sig = 0 if adjusted >= stats.ALPHA else (1 if p.delta > 0 else -1 if p.delta < 0 else 0)
    line[2].sig, line[2].p = sig, adjusted
    line[3].text = stats.p_text(adjusted)


def _notes(method: str, baseline: str, untested: int, total: int) -> list[str]:
    notes = [f"Δ: {method} - {baseline} with its paired 95 % bootstrap interval; ↑ / ↓: "
             f"{method} significantly better / worse (exact sign test on the discordant "
             "queries, Holm across the cells; the pooled row is a single test). better / "
             f"worse: queries where {method} scores higher / lower than {baseline}.",
             f"{method}, {baseline}: value ± half-width of its 95 % bootstrap interval over "
             "queries (seeds: mean over seeds, interval over seeds × queries)."]
    if untested:
        notes.append(f"{untested} of {total} common cells have no per-query outcomes (rows "
                     "written before bench stored them): values only, not tested.")
    return notes
