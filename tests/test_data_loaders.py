"""The real-format loaders on small hand-written annotation files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.api.errors import DataError
from bench.data.karpathy import load_karpathy
from bench.data.pedes import load_cuhk_pedes, load_icfg_pedes, load_rstpreid


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), (10, 20, 30)).save(path)


def _sentences(n: int, tag: str) -> list[dict]:
    return [{"raw": f" {tag} caption {k} ", "tokens": [tag, "caption", str(k)]} for k in range(n)]


def _coco(tmp_path: Path) -> Path:
    images = [
        {"filepath": "val2014", "filename": "a.jpg", "split": "test", "imgid": 0,
         "sentences": _sentences(7, "a")},
        {"filepath": "train2014", "filename": "b.jpg", "split": "train", "imgid": 1,
         "sentences": _sentences(5, "b")},
        {"filepath": "val2014", "filename": "c.jpg", "split": "test", "imgid": 2,
         "sentences": _sentences(5, "c")},
        {"filepath": "val2014", "filename": "d.jpg", "split": "restval", "imgid": 3,
         "sentences": _sentences(5, "d")},
    ]
    for rec in images:
        _image(tmp_path / "coco" / rec["filepath"] / rec["filename"])
    path = tmp_path / "dataset_coco.json"
    path.write_text(json.dumps({"dataset": "coco", "images": images}))
    return path


def test_karpathy_coco_paths_first_five_captions_and_split(tmp_path: Path) -> None:
    ds = load_karpathy(_coco(tmp_path), tmp_path / "coco", "test")
    assert ds.kind == "captions" and ds.name == "coco"
    assert ds.image_paths == [tmp_path / "coco/val2014/a.jpg", tmp_path / "coco/val2014/c.jpg"]
    assert ds.captions[:5] == [f"a caption {k}" for k in range(5)]  # first 5 of 7, trimmed
    assert ds.n_captions == 10
    assert ds.caption_image.tolist() == [0] * 5 + [1] * 5
    assert ds.load_image(1).shape == (6, 8, 3)
    train = load_karpathy(_coco(tmp_path), tmp_path / "coco", "train+restval")
    assert [p.name for p in train.image_paths] == ["b.jpg", "d.jpg"]


def test_karpathy_flickr_has_no_filepath(tmp_path: Path) -> None:
    images = [{"filename": "1000.jpg", "split": "test", "sentences": _sentences(5, "x")}]
    _image(tmp_path / "flickr" / "1000.jpg")
    path = tmp_path / "dataset_flickr30k.json"
    path.write_text(json.dumps({"dataset": "flickr30k", "images": images}))
    ds = load_karpathy(path, tmp_path / "flickr", name="f1k")
    assert ds.image_paths == [tmp_path / "flickr/1000.jpg"] and ds.name == "f1k"


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["images"][2].pop("filename"), "record 2 has no 'filename'"),
    (lambda d: d["images"][2]["sentences"][1].update(raw=5), "record 2 caption 1 is not a string"),
    (lambda d: d["images"][1].pop("split"), "record 1 has no 'split'"),
    (lambda d: d["images"][0].update(sentences="oops"), "record 0 field 'sentences' is not a list"),
    (lambda d: d.pop("images"), "no top-level 'images' list"),
])
def test_karpathy_malformed_records(tmp_path: Path, mutate, needle: str) -> None:
    path = _coco(tmp_path)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as err:
        load_karpathy(path, tmp_path / "coco", "test")
    _one_line_naming(err.value, path, needle)


def test_karpathy_missing_bad_and_empty(tmp_path: Path) -> None:
    path = _coco(tmp_path)
    with pytest.raises(DataError) as err:
        load_karpathy(tmp_path / "nope.json", tmp_path / "coco")
    _one_line_naming(err.value, tmp_path / "nope.json", "annotation file not found")
    with pytest.raises(DataError) as err:
        load_karpathy(path, tmp_path / "coco", "val")
    _one_line_naming(err.value, path, "no images in split 'val'")
    with pytest.raises(DataError) as err:
        load_karpathy(path, tmp_path / "elsewhere")
    _one_line_naming(err.value, tmp_path / "elsewhere", "folder not found")
    path.write_text('{"images": [')
    with pytest.raises(DataError) as err:
        load_karpathy(path, tmp_path / "coco")
    _one_line_naming(err.value, path, "not valid JSON")


def test_karpathy_wrong_image_root_is_caught_at_load(tmp_path: Path) -> None:
    path = _coco(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="image not found"):
        load_karpathy(path, tmp_path / "empty")


def _pedes_records(path_field: str) -> list[dict]:
    recs = []
    for k, (split, pid) in enumerate([("train", 1), ("test", 7), ("test", 7), ("test", 9),
                                      ("val", 3)]):
        recs.append({"split": split, "captions": [f"person {pid} shot {k}"] * (1 + k % 2),
                     path_field: f"cam/{pid}_{k}.png", "processed_tokens": [], "id": pid})
    return recs


@pytest.mark.parametrize("loader, anno, path_field", [
    (load_cuhk_pedes, "reid_raw.json", "file_path"),
    (load_icfg_pedes, "ICFG-PEDES.json", "file_path"),
    (load_rstpreid, "data_captions.json", "img_path"),
])
def test_pedes_formats(tmp_path: Path, loader, anno: str, path_field: str) -> None:
    recs = _pedes_records(path_field)
    for r in recs:
        _image(tmp_path / "imgs" / r[path_field])
    (tmp_path / anno).write_text(json.dumps(recs))
    ds = loader(tmp_path, "test")
    assert ds.kind == "reid" and ds.n_images == 3
    assert ds.person_ids.tolist() == [7, 7, 9]
    assert ds.image_paths[0] == tmp_path / "imgs/cam/7_1.png"
    assert ds.caption_image.tolist() == [0, 0, 1, 2, 2]
    rel = ds.relevant_to_caption()
    assert np.array_equal(rel[0], [0, 1]) and np.array_equal(rel[3], [2])

    recs[3]["captions"] = ["fine", None]
    (tmp_path / anno).write_text(json.dumps(recs))
    with pytest.raises(DataError) as err:
        loader(tmp_path, "test")
    _one_line_naming(err.value, tmp_path / anno, "record 3 caption 1 is not a string")
    del recs[2]["id"]
    (tmp_path / anno).write_text(json.dumps(recs))
    with pytest.raises(DataError, match="record 2 has no 'id'"):
        loader(tmp_path, "test")


def test_pedes_missing_and_empty(tmp_path: Path) -> None:
    (tmp_path / "imgs").mkdir()
    with pytest.raises(DataError) as err:
        load_cuhk_pedes(tmp_path)
    _one_line_naming(err.value, tmp_path / "reid_raw.json", "annotation file not found")
    (tmp_path / "ICFG-PEDES.json").write_text(json.dumps(_pedes_records("file_path")))
    with pytest.raises(DataError) as err:
        load_icfg_pedes(tmp_path, "gallery")
    _one_line_naming(err.value, tmp_path / "ICFG-PEDES.json", "no images in split 'gallery'")
    (tmp_path / "data_captions.json").write_text(json.dumps({"not": "a list"}))
    with pytest.raises(DataError, match="not a list of records"):
        load_rstpreid(tmp_path)


def _one_line_naming(err: DataError, path: Path, needle: str) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text and needle in text, text


def test_first_captions_keeps_every_image_and_the_first_k_captions() -> None:
    from bench.data.dataset import RetrievalDataset
    ds = RetrievalDataset(name="toy", kind="captions", image_paths=[Path(f"{i}.png") for i in range(3)],
                          captions=["a0", "b0", "a1", "c0", "b1", "a2"],
                          caption_image=np.array([0, 1, 0, 2, 1, 0]))
    one = ds.first_captions(1)
    assert one.name == "toy-1cap" and one.n_images == 3
    assert one.captions == ["a0", "b0", "c0"] and one.caption_image.tolist() == [0, 1, 2]
    two = ds.first_captions(2)
    assert two.captions == ["a0", "b0", "a1", "c0", "b1"]
    assert one.fingerprint() != ds.fingerprint()
