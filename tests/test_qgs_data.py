"""Nocaps and Fashion-Gen in their upstream (TCR) formats, and their suites end to end
with a tiny random BLIP."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from helpers_run import cli
from PIL import Image

from bench.api.errors import DataError
from bench.api.registry import SUITES, load_builtins
from bench.data.fashion import load_fashion_gen
from bench.data.nocaps import load_nocaps
from bench.engine.store import ResultStore
from bench.suites.base import SuiteContext


def _image(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def nocaps_root(tmp_path):
    root = tmp_path / "nocaps"
    records = []
    for i, domain in enumerate(["in-domain", "near-domain", "out-domain", "near-domain"]):
        rel = f"validation/{i:04d}.jpg"
        _image(root / rel, i)
        records.append({"image": rel, "caption": [f"A photo number {i}.", f"Picture {i}!"],
                        "domain": domain, "img_id": i})
    (root / "annotations.json").write_text(json.dumps(records))
    return tmp_path


def test_nocaps_domains_and_relevance(nocaps_root):
    near = load_nocaps(nocaps_root / "nocaps", "near")
    assert [p.name for p in near.image_paths] == ["0001.jpg", "0003.jpg"]
    assert near.captions == ["A photo number 1.", "Picture 1!", "A photo number 3.", "Picture 3!"]
    assert [r.tolist() for r in near.relevant_to_image()] == [[0, 1], [2, 3]]
    assert [r.tolist() for r in near.relevant_to_caption()] == [[0], [0], [1], [1]]
    assert load_nocaps(nocaps_root / "nocaps", "entire").n_images == 4
    assert load_nocaps(nocaps_root / "nocaps", "out").n_captions == 2
    with pytest.raises(DataError, match="unknown Nocaps domain"):
        load_nocaps(nocaps_root / "nocaps", "far")


def test_nocaps_suite_cells_and_loaders(nocaps_root):
    load_builtins()
    suite = SUITES.get("nocaps")
    ctx = SuiteContext(data_root=nocaps_root)
    assert suite.missing(ctx) is None and suite.default_model == "blip-base"
    cells = suite.cells()
    assert {(c.dataset, c.direction) for c in cells} == {
        (f"nocaps-{d}", x) for d in ("in", "near", "out", "entire") for x in ("i2t", "t2i")}
    assert suite.load("nocaps-in", ctx).n_images == 1
    assert "nocaps/annotations.json" in SUITES.get("nocaps").missing(SuiteContext(data_root=nocaps_root / "x"))


def _pickle(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))


@pytest.fixture
def fashion_root(tmp_path):
    root = tmp_path / "Fashion-Gen"
    items = [("100_1.png", "Black leather bag."), ("100_2.png", ["Black leather bag."]),
             ("200_1.png", ["Red dress", "with buttons"]), ("100_3.png", "Black leather bag.")]
    for k, (name, caps) in enumerate(items):
        _pickle(root / "full_valid_info_PAI" / f"{k:03d}.pkl", {"img_name": name, "captions": caps})
        _image(root / "extracted_valid_images" / name, k)
    return tmp_path


def test_fashion_gen_relevance_is_by_product(fashion_root):
    ds = load_fashion_gen(fashion_root / "Fashion-Gen")
    assert ds.kind == "fashion" and ds.n_images == 4 and ds.n_captions == 5
    assert [p.name for p in ds.image_paths] == ["100_1.png", "100_2.png", "200_1.png", "100_3.png"]
    assert ds.person_ids.tolist() == [0, 0, 1, 0]
    # captions 0, 1, 4 describe product 100 (images 0, 1, 3); captions 2, 3 product 200
    assert [r.tolist() for r in ds.relevant_to_caption()] == [[0, 1, 3], [0, 1, 3], [2], [2],
                                                              [0, 1, 3]]
    assert [sorted(r.tolist()) for r in ds.relevant_to_image()] == [[0, 1, 4], [0, 1, 4], [2, 3],
                                                                    [0, 1, 4]]


def test_fashion_gen_pickles_with_code_are_refused(fashion_root):
    class Evil:
        def __reduce__(self):
            return (print, ("never",))

    _pickle(fashion_root / "Fashion-Gen" / "full_valid_info_PAI" / "999.pkl",
            {"img_name": "300_1.png", "captions": Evil()})
    with pytest.raises(DataError, match="not plain data"):
        load_fashion_gen(fashion_root / "Fashion-Gen")


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory):
    pytest.importorskip("transformers")
    from helpers_blip import tiny_spec, write_vocab

    from bench.api.registry import MODELS
    load_builtins()
    if "blip-tiny" not in MODELS:
        MODELS.add("blip-tiny", tiny_spec(write_vocab(tmp_path_factory.mktemp("vocab"))))
    return "blip-tiny"


def test_fashion_gen_suite_runs_with_blip_at_its_temperature(fashion_root, tiny_blip, tmp_path):
    code, out, err = cli("run", "--method", "source,tent", "--suite", "fashion-gen", "--model",
                         tiny_blip, "--pretrained", "random", "--data-root", fashion_root,
                         "--out", tmp_path / "res", "--workers", "1", "--quiet")
    assert code == 0, err
    df = ResultStore(tmp_path / "res").read()
    assert len(df) == 4 and set(df.status) == {"ok"} and set(df.model) == {"blip-tiny"}
    assert all(json.loads(p)["temperature"] == 0.001 for p in df.protocol)
    assert set(df.n_gallery) == {4, 5}


def test_fashion_gen_inputs_are_tcrs(fashion_root, tiny_blip):
    from bench.data.preprocess import apply_caption_rule
    from bench.engine.planning import plan_run
    from bench.engine.settings import RunSettings
    cells = plan_run(RunSettings.of(methods=["source"], suites=["fashion-gen"], model=tiny_blip,
                                pretrained="random", data_root=fashion_root, log=lambda m: None))
    rec = cells[0].inputs.record()
    # TCR: squash to the model's input, bicubic; Fashion-Gen's pre_caption keeps 77 words
    assert rec["preprocess_label"] == "squash 32x32 bicubic" and rec["activation"] == "gelu"
    assert rec["caption_rule"] == "pre_caption_77"
    long = " ".join(f"w{k}." for k in range(90))
    assert apply_caption_rule(rec["caption_rule"], long).split() == [f"w{k}" for k in range(77)]


def test_doctor_knows_the_new_files(nocaps_root, fashion_root):
    code, out, _ = cli("doctor", "--data-root", nocaps_root, "--load")
    assert code == 0
    assert "nocaps-near   ok: 2 test images, 4 captions" in out
    assert "fashion-gen   ok: 4 test images, 5 captions" in out
    assert "suite nocaps         weights of blip-base not found" in out or "suite nocaps" in out
