"""The site in a real browser: Debian's Chromium driven by Playwright over a site built
from a small store (source and tent on smoke, a few queries; tent with a larger step size so
that its numbers differ from source's and sorting has something to reorder). Screenshots of
the index and of one table page are written to $BENCH_SITE_ARTIFACTS (default: the test's
tmp folder)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

TENT_LR = 0.01
TENT = f"tent[lr={TENT_LR}]"  # the row label of a method run with a non-default config
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install "
                       "chromium); the browser test needs a real Chromium"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from bench.cli import main

    root = tmp_path_factory.mktemp("site")
    store, out = root / "store", root / "site"
    assert main(["run", "--method", "source,tent", "--suite", "smoke", "--limit", "48",
                 "--batch-size", "16", "--set", f"tent.lr={TENT_LR}", "--seed", "0,1",
                 "--threads", "1", "--quiet", "--out", str(store)]) == 0
    # the same cells again as a nested store: a section of its own (--nested)
    for sub in ("cells", "outcomes", "traces"):
        shutil.copytree(store / sub, store / "again" / sub)
    assert main(["site", str(store), "--out", str(out), "--nested"]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # the `test` extra; no browser download

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = os.environ.get("BENCH_SITE_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, errors


def _table_page(site: Path) -> Path:
    return site / "smoke_mini-scenes-smoke_i2t_single.html"


def _visible_rows(page, table_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr:not([hidden])",
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")


def _visible_column(page, table_id: str, column: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{column}].innerText.trim())")


def test_index_loads_without_console_errors(site, browser, artifacts):
    page, errors = _open(browser, (site / "index.html").as_uri())
    assert "bench leaderboard" in page.title()
    assert page.locator("#ranking-table tbody tr").count() == 2  # source, tent
    assert page.locator("ul.reading > li").count() == 2  # one finding per table
    page.screenshot(path=str(artifacts / "index.png"), full_page=True)
    assert errors == []


def test_sorting_a_column_reorders_the_rows(site, browser, artifacts):
    page, errors = _open(browser, _table_page(site).as_uri())
    table = "smoke_mini-scenes-smoke_i2t_single-r1-main"
    assert _visible_column(page, table, 0) == ["source", TENT]
    header = page.locator(f"#{table} thead th").nth(1)
    orders, values = [], []
    for _ in range(2):  # one direction, then the other
        header.click()
        orders.append(_visible_column(page, table, 0))
        values.append([float(v) for v in page.eval_on_selector_all(
            f"#{table} tbody tr", "rows => rows.map(r => r.cells[1].dataset.sort)")])
    assert values[0][0] != values[0][1]
    assert values[0] in (sorted(values[0]), sorted(values[0], reverse=True))
    assert values[1] == values[0][::-1]
    assert orders[1] == orders[0][::-1]
    page.screenshot(path=str(artifacts / "table.png"), full_page=True)
    assert errors == []


def test_filter_leaves_only_the_chosen_rows(site, browser):
    page, errors = _open(browser, _table_page(site).as_uri())
    table = "smoke_mini-scenes-smoke_i2t_single-r1-main"
    page.locator("input.row-filter[value='source']").uncheck()
    assert _visible_column(page, table, 0) == [TENT]
    page.locator("button.filter-all[data-tick='0']").click()
    assert _visible_column(page, table, 0) == []
    page.locator(f"input.row-filter[value='{TENT}']").check()
    page.select_option("#metric", "r5")  # the filter holds in every metric's tables
    assert _visible_column(page, "smoke_mini-scenes-smoke_i2t_single-r5-main", 0) == [TENT]
    page.locator("button.filter-all[data-tick='1']").click()
    assert _visible_column(page, table, 0) == ["source", TENT]
    assert errors == []


def test_metric_switch_and_delta_view_change_the_numbers(site, browser):
    page, errors = _open(browser, _table_page(site).as_uri())
    stem = "smoke_mini-scenes-smoke_i2t_single"
    r1 = _visible_rows(page, f"{stem}-r1-main")
    assert page.locator(f"#{stem}-r1-main").is_visible()
    page.select_option("#metric", "r10")
    assert not page.locator(f"#{stem}-r1-main").is_visible()
    assert page.locator(f"#{stem}-r10-main").is_visible()
    r10 = _visible_rows(page, f"{stem}-r10-main")
    assert r10 != r1
    page.select_option("#metric", "r1")
    page.select_option("#view", "delta")
    assert page.locator(f"#{stem}-r1-delta").is_visible()
    delta = _visible_rows(page, f"{stem}-r1-delta")
    assert [r[0] for r in delta] == [TENT]  # source has no Δ row
    assert all(v[0] in "+-" for v in delta[0][1:])  # signed differences
    assert delta[0][1:] != r1[1][1:]
    assert errors == []


def test_a_number_opens_its_cell_provenance(site, browser):
    page, errors = _open(browser, _table_page(site).as_uri())
    link = page.locator("#smoke_mini-scenes-smoke_i2t_single-r1-main tbody tr").nth(1) \
        .locator("td").nth(1).locator("a")
    link.click()
    page.wait_for_selector("#entry h1")
    assert "cell.html#" in page.url
    text = page.locator("#entry").inner_text()
    assert "python -m bench run --method tent --suite smoke" in text
    assert f"--set tent.lr={TENT_LR}" in text and "--batch-size 16" in text
    assert "--limit 48" in text and "--seed 0,1" in text
    for field in ("method_config", "protocol", "git_sha", "torch_version"):
        assert field in text
    assert page.locator("#entry tbody tr").count() >= 2  # two seeds behind the number
    assert page.locator("#entry svg.trace").count() >= 2
    assert errors == []


def test_every_link_resolves(site, browser):
    """Crawl from the index: every href of every page names a file of the site, and every
    cell link's entry exists in its data script."""
    seen, todo, missing = set(), [site / "index.html"], []
    page = browser.new_page()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        page.goto(path.as_uri())
        for href in page.eval_on_selector_all("a[href], img[src], script[src], link[href]",
                                               "els => els.map(e => e.href || e.src)"):
            url, fragment = urldefrag(href)
            target = Path(unquote(urlparse(url).path))
            if not target.exists():
                missing.append(f"{path.name} -> {href}")
            elif target.suffix == ".html" and target not in seen:
                todo.append(target)
            if target.name == "cell.html" and fragment:
                stem, entry = fragment.split("/")
                data = (target.parent / "data" / f"{stem}.js").read_text(encoding="utf-8")
                if f'"{entry}":{{' not in data:
                    missing.append(f"{path.name} -> entry {fragment}")
    assert missing == []
    # index, 2 tables, 2 methods, compare, cell: of the main store and of its section
    assert len(seen) == 2 * 7
    assert site / "again" / "index.html" in seen


def test_the_diagnostics_switch_shows_the_measures_and_the_cells_before_and_after(site,
                                                                                  browser):
    """`bench run` stores the common-space diagnostics: the metric switch offers them, and
    a cell page shows each cell's measures on the source and the adapted model."""
    page, errors = _open(browser, _table_page(site).as_uri())
    stem = "smoke_mini-scenes-smoke_i2t_single"
    options = page.eval_on_selector_all("#metric optgroup option", "os => os.map(o => o.value)")
    assert "gap_after" in options and "consistency_before" in options
    page.select_option("#metric", "gap_after")
    assert page.locator(f"#{stem}-gap_after-main").is_visible()
    assert not page.locator(f"#{stem}-r1-main").is_visible()
    values = [float(v) for v in page.eval_on_selector_all(
        f"#{stem}-gap_after-main tbody tr", "rows => rows.map(r => r.cells[1].dataset.sort)")]
    assert len(values) == 2 and all(0 < v < 2 for v in values)  # a distance of unit vectors
    page.locator(f"#{stem}-gap_after-main tbody tr").nth(1).locator("td").nth(1) \
        .locator("a").click()
    page.wait_for_selector("#entry h1")
    text = page.locator("#entry").inner_text()
    assert "common space: source → adapted" in text
    assert re.search(r"gap \d\.\d{3} → \d\.\d{3}", text)
    assert errors == []
