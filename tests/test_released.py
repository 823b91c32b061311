"""TCR's released pre-built COCO-C files: `run --queries released` and `compare-queries`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.api.registry import SHIFTS, SUITES, load_builtins
from bench.engine.store import ResultStore
from bench.suites.base import CellSpec, Suite
from tests import helpers_realdata as fx
from tests.helpers_run import cli


def _released_fixture(root):
    """coco (BLIP layout) + released files: gaussian_noise@5 and ocr@7 equal to bench's own
    corruption, contrast@5 inverted, cd@7 captions reversed."""
    load_builtins()
    rels = fx.coco_blip(root)
    clean = root / "coco"
    out = root / "coco-IP" / "COCO_IP_gaussian_noise_5"
    info = SHIFTS.get("gaussian_noise")
    for rel in rels:
        with Image.open(clean / rel) as im:
            arr = np.asarray(im.convert("RGB"))
        own = info.apply(arr, 5, info.seed_for(rel, "gaussian_noise", 5, 0))
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(own).save(out / rel, format="PNG")  # lossless, under the .jpg name
    fx.released_images(root, "coco", "contrast", 5, rels, clean)
    ocr = SHIFTS.get("ocr")
    caps = [[fx.caption(k, j) for j in range(5)] for k in range(len(rels))]
    fx.released_captions(root, "coco", "OcrAug", 7, rels, [
        [ocr.apply(c, 7, ocr.seed_for(f"{rel}#{j}", "ocr", 7, 0)) for j, c in enumerate(cs)]
        for rel, cs in zip(rels, caps, strict=True)])
    fx.released_captions(root, "coco", "RandomCharAug_delete", 7, rels,
                         [[" ".join(reversed(c.split())) for c in cs] for cs in caps])
    return rels


def test_compare_queries_reports_pixel_difference_and_both_r1(tmp_path):
    _released_fixture(tmp_path)
    code, out, err = cli("compare-queries", "--suite", "coco-c", "--data-root", tmp_path,
                         "--shift", "gaussian_noise,contrast,ocr,cd", "--model", "mini-clip",
                         "--pretrained", "random", "--workers", "1", "--quiet", "--csv",
                         tmp_path / "cmp.csv")
    assert code == 0, err
    df = pd.read_csv(tmp_path / "cmp.csv").set_index("shift")
    assert df.loc["gaussian_noise", "mean_abs_pixel_diff"] == 0.0
    assert df.loc["gaussian_noise", "r1_bench"] == df.loc["gaussian_noise", "r1_released"]
    assert df.loc["contrast", "mean_abs_pixel_diff"] > 20
    assert df.loc["ocr", "same_captions"] == 1.0
    assert df.loc["ocr", "r1_bench"] == df.loc["ocr", "r1_released"]
    assert df.loc["cd", "same_captions"] < 1.0
    assert set(df["n_queries"]) == {6, 30}
    assert "| coco-c | coco | contrast | 5 | 6 |" in out


@pytest.fixture
def two_cell_suite(monkeypatch):
    from bench.suites import real

    suite = Suite(name="coco-two", version="1", description="test: two coco-c cells",
                  loaders={"coco": real._load("coco")},
                  make_cells=lambda sev: [CellSpec("coco", "i2t", "contrast", 5),
                                          CellSpec("coco", "t2i", "backtrans", 1)],
                  requires=real._requires("coco"), dataset_kinds={"coco": "captions"})
    load_builtins()
    monkeypatch.setitem(SUITES._items, "coco-two", suite)
    return suite


def test_run_on_released_queries_is_recorded(tmp_path, two_cell_suite):
    rels = _released_fixture(tmp_path)
    args = ("run", "--method", "source", "--suite", "coco-two", "--model", "mini-clip",
            "--pretrained", "random", "--data-root", tmp_path, "--workers", "1", "--quiet")
    code, _, err = cli(*args, "--queries", "released", "--out", tmp_path / "rel")
    assert code == 2 and "annotation_back_trans/1/coco_karpathy_test.json" in err
    assert not (tmp_path / "rel").exists() or ResultStore(tmp_path / "rel").read().empty
    # a sentence-level shift bench cannot make offline runs from the released file
    fx.released_captions(tmp_path, "coco", "back_trans", 1, rels,
                         [[f"back translated {k} {j}" for j in range(5)] for k in range(6)])
    code, _, err = cli(*args, "--queries", "released", "--out", tmp_path / "rel")
    assert code == 0, err
    rows = ResultStore(tmp_path / "rel").read().set_index("shift")
    assert set(rows["status"]) == {"ok"}
    assert {json.loads(x)["queries"] for x in rows["inputs"]} == {"released"}
    code, _, _ = cli(*args, "--out", tmp_path / "own")
    own = ResultStore(tmp_path / "own").read().set_index("shift")
    assert own.loc["backtrans", "status"] == "unavailable"  # no seq2seq model here
    assert own.loc["contrast", "cell_id"] != rows.loc["contrast", "cell_id"]


def test_released_refused_where_nothing_was_released(tmp_path):
    fx.pedes(tmp_path, "cuhk")
    code, _, err = cli("run", "--method", "source", "--suite", "cuhk-pedes-c", "--pretrained",
                       "random", "--data-root", tmp_path, "--queries", "released",
                       "--out", tmp_path / "r")
    assert code == 2 and "no released" in err
