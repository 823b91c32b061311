"""The files researchers have: layouts, sample ids, unreadable images, traversal, doctor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.api.errors import DataError
from bench.data.layouts import load_layout, missing_reason
from bench.engine.store import ResultStore
from tests import helpers_realdata as fx
from tests.helpers_run import cli


@pytest.mark.parametrize("write,key,images", [
    (lambda r: fx.coco_karpathy(r), "coco", "coco/images/val2014"),
    (lambda r: fx.coco_karpathy(r, images_dir="coco"), "coco", "coco/val2014"),
    (lambda r: fx.coco_blip(r), "coco", "coco/val2014"),
    (lambda r: fx.coco_blip(r, ann="coco/coco_annotations/coco_karpathy_test.json",
                            images_dir="coco/coco_image/val2014"), "coco", "coco/coco_image"),
    (lambda r: fx.flickr_karpathy(r), "flickr30k", "flickr30k/flickr30k-images"),
    (lambda r: fx.flickr_blip(r), "flickr30k", "flickr30k/flickr30k-images"),
    (lambda r: fx.pedes(r, "cuhk"), "cuhk-pedes", "CUHK-PEDES/imgs"),
    (lambda r: fx.pedes(r, "icfg"), "icfg-pedes", "ICFG-PEDES/imgs"),
    (lambda r: fx.pedes(r, "icfg_irra"), "icfg-pedes", "ICFG-PEDES/imgs"),
    (lambda r: fx.pedes(r, "rstp"), "rstpreid", "RSTPReid/imgs"),
])
def test_each_layout_loads(tmp_path, write, key, images):
    write(tmp_path)
    assert missing_reason(key, tmp_path) is None
    ds = load_layout(key, tmp_path)
    assert ds.n_images >= 4 and all(Path(p).is_file() for p in ds.image_paths)
    assert all(str(p).startswith(str(tmp_path / images)) for p in ds.image_paths) or \
        key in ("coco", "flickr30k") and all(Path(p).is_file() for p in ds.image_paths)
    if key in ("coco", "flickr30k"):
        assert ds.n_captions == 5 * ds.n_images and ds.kind == "captions"
    else:
        assert ds.kind == "reid"


def test_blip_and_karpathy_give_the_same_dataset(tmp_path):
    fx.coco_karpathy(tmp_path / "a", images_dir="coco")
    fx.coco_blip(tmp_path / "b")
    a, b = load_layout("coco", tmp_path / "a"), load_layout("coco", tmp_path / "b")
    assert a.captions == b.captions
    assert [a.sample_id(i) for i in range(a.n_images)] == \
        [b.sample_id(i) for i in range(b.n_images)] == \
        [f"val2014/COCO_val2014_{k:012d}.jpg" for k in range(6)]


def test_unknown_layout_gives_one_line_hint(tmp_path):
    (tmp_path / "coco" / "annotations").mkdir(parents=True)
    (tmp_path / "coco" / "annotations" / "captions_val2014.json").write_text("{}")
    reason = missing_reason("coco", tmp_path)
    assert "\n" not in reason and "coco/dataset_coco.json" in reason
    assert "coco/coco_karpathy_test.json" in reason
    assert "found coco/annotations/captions_val2014.json" in reason and "rename" in reason
    code, out, err = cli("run", "--method", "source", "--suite", "base2coco", "--data-root",
                         tmp_path, "--pretrained", "random", "--out", tmp_path / "res")
    assert code == 2 and "rename" in err and len(err.strip().splitlines()) <= 2


def test_images_elsewhere_name_where_they_were_looked_for(tmp_path):
    fx.coco_blip(tmp_path, images_dir="coco/pictures/val2014")
    with pytest.raises(DataError, match="under .*coco/, .*coco/images/"):
        load_layout("coco", tmp_path)


def test_basename_collision_keeps_captions_with_their_own_person(tmp_path):
    from bench.engine.cache import Cache
    from bench.engine.inputs import InputOptions, caption_sample_ids, shifted_captions
    from bench.engine.prebuild import build_captions
    from bench.engine.prebuilt import load_built_captions

    records = [{"id": 1, "file_path": "cam_a/0001.jpg", "split": "test",
                "captions": ["a man in a red coat"]},
               {"id": 2, "file_path": "cam_b/0001.jpg", "split": "test",
                "captions": ["a woman with a blue bag"]}]
    fx.pedes(tmp_path, "cuhk", records)
    ds = load_layout("cuhk-pedes", tmp_path)
    ids = caption_sample_ids(ds)
    assert ids == ["cam_a/0001.jpg#0", "cam_b/0001.jpg#0"]
    build_captions(ds, [("cd", 1)], workers=1, quiet=True)
    built = load_built_captions(ds, "cd", 1)
    assert len(built) == 2
    got = shifted_captions(ds, torch.arange(2).numpy(), "cd", 1,
                           InputOptions(cache=Cache(enabled=False)))
    assert ("red" in got[0] or "coat" in got[0]) and ("blue" in got[1] or "bag" in got[1])
    assert got == [built["cam_a/0001.jpg#0"], built["cam_b/0001.jpg#0"]]
    assert ds.person_ids[ds.caption_image].tolist() == [1, 2]


def test_traversal_path_gives_exit_2(tmp_path):
    records = [{"id": 1, "file_path": "cam_a/1.jpg", "split": "test", "captions": ["a"]},
               {"id": 2, "file_path": "../../../etc/passwd", "split": "test", "captions": ["b"]}]
    fx.pedes(tmp_path, "cuhk", records)
    with pytest.raises(DataError, match="record 1 image path '../../../etc/passwd' leads outside"):
        load_layout("cuhk-pedes", tmp_path)
    code, _, err = cli("build", "--suite", "cuhk-pedes-c", "--data-root", tmp_path,
                       "--severity", "1", "--workers", "1")
    assert code == 2 and "record 1" in err


def _reid_run(tmp_path, *extra):
    ckpt = tmp_path / "irra.pth"
    if not ckpt.exists():
        from bench.models.openclip import load_model
        src = load_model("mini-clip", "random", seed=2, image_size=(384, 128))
        torch.save({"model": {f"base_model.{k}": v for k, v in src.model.state_dict().items()}},
                   ckpt)
    return cli("run", "--method", "source", "--suite", "icfg2cuhk", "--model", "mini-clip",
               "--pretrained", ckpt, "--data-root", tmp_path, "--out", tmp_path / "res",
               "--workers", "1", "--quiet", *extra)


def test_unreadable_image_exits_2_and_writes_nothing(tmp_path):
    fx.pedes(tmp_path, "cuhk", n_persons=3)
    (tmp_path / "CUHK-PEDES/imgs/cam_b/0001_cam_b.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "CUHK-PEDES/imgs/cam_a/0002_cam_a.jpg").unlink()
    code, out, err = _reid_run(tmp_path)
    assert code == 2
    assert "2 of 6 images of cuhk-pedes cannot be read" in err
    assert "0001_cam_b.jpg (unreadable" in err and "0002_cam_a.jpg (missing)" in err
    assert not (tmp_path / "res").exists() or ResultStore(tmp_path / "res").read().empty
    # doctor agrees: the suite is not ready, for the same reason
    code, out, _ = cli("doctor", "--data-root", tmp_path, "--load", "--model", "mini-clip",
                       "--pretrained", tmp_path / "irra.pth")
    line = next(x for x in out.splitlines() if x.startswith("suite icfg2cuhk"))
    assert "not ready: cuhk-pedes: 2 of 6 images" in line and "weights" not in line
    assert "0001_cam_b.jpg (unreadable" in line
    code, out, _ = cli("doctor", "--data-root", tmp_path, "--load")  # run without --pretrained
    line = next(x for x in out.splitlines() if x.startswith("suite icfg2cuhk"))
    assert "needs weights" in line and "2 of 6 images" in line


def test_skip_unreadable_records_the_count(tmp_path):
    fx.pedes(tmp_path, "cuhk", n_persons=3)
    (tmp_path / "CUHK-PEDES/imgs/cam_b/0001_cam_b.jpg").write_bytes(b"")
    code, out, err = _reid_run(tmp_path, "--skip-unreadable")
    assert code == 0, err
    row = ResultStore(tmp_path / "res").read().iloc[0]
    assert json.loads(row.protocol)["images_skipped"] == 1
    assert row.n_gallery == 5 and json.loads(row.inputs)["skip_unreadable"] is True
    code, board, _ = cli("leaderboard", tmp_path / "res")
    assert code == 0 and "1 unreadable images left out" in board


def test_doctor_lines_agree_with_run(tmp_path):
    fx.coco_blip(tmp_path)
    code, out, _ = cli("doctor", "--data-root", tmp_path, "--load")
    lines = {x.split()[1]: x for x in out.splitlines() if x.startswith("suite ")}
    assert "ok: 6 test images, 30 captions" in out
    # base2coco defaults to the pre-trained BLIP, absent here: doctor and run both say so
    assert "weights of blip-base not found" in lines["base2coco"]
    code, _, err = cli("run", "--method", "source", "--suite", "base2coco", "--data-root",
                       tmp_path, "--out", tmp_path / "res")
    assert code == 2 and "weights of blip-base not found" in err
    # the CLIP alternative, ViT-B-16/openai, is not cached offline: both say so too
    clip = ("--model", "ViT-B-16", "--pretrained", "openai")
    _, out, _ = cli("doctor", "--data-root", tmp_path, *clip)
    assert "not in the local Hugging Face cache" in next(
        x for x in out.splitlines() if x.startswith("suite base2coco"))
    code, _, err = cli("run", "--method", "source", "--suite", "base2coco", "--data-root",
                       tmp_path, "--out", tmp_path / "res", *clip)
    assert code == 2 and "not in the local Hugging Face cache" in err
    assert "missing" in lines["cuhk2icfg"] or "ICFG-PEDES" in lines["cuhk2icfg"]
    assert lines["smoke"].endswith(" ready")


def test_build_out_dir_for_read_only_data(tmp_path):
    from bench.data.layouts import load_layout as load
    from bench.engine.cache import Cache
    from bench.engine.inputs import InputOptions, shifted_captions

    records = [{"id": 1, "file_path": "cam_a/0001.jpg", "split": "test", "captions": ["a man"]},
               {"id": 2, "file_path": "cam_b/0001.jpg", "split": "test",
                "captions": ["a woman"]}]
    fx.pedes(tmp_path / "data", "cuhk", records)
    out = tmp_path / "built"
    code, text, err = cli("build", "--suite", "cuhk-pedes-c", "--data-root", tmp_path / "data",
                          "--severity", "1", "--workers", "1", "--quiet", "--out", out)
    assert code == 0, err
    assert not (tmp_path / "data" / "CUHK-PEDES" / "built").exists()
    written = json.loads((out / "cuhk-pedes-test" / "captions" / "cd" / "1.json").read_text())
    assert sorted(written) == ["cam_a/0001.jpg#0", "cam_b/0001.jpg#0"]
    ds = load("cuhk-pedes", tmp_path / "data")
    from_build = shifted_captions(ds, np.arange(2), "cd", 1,
                                  InputOptions(cache=Cache(enabled=False), built_dir=out))
    assert from_build == [written["cam_a/0001.jpg#0"], written["cam_b/0001.jpg#0"]]
