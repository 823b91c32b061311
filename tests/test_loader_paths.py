"""Every loader keeps every image path inside its folder (absolute paths, ``..``, a link out
are refused with one DataError line) and turns a malformed annotation into a DataError.

Each loader gets the same three escapes on a small fixture written here: the first record
is a real image (the loaders stat it), the second names the escape.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from bench.api.errors import DataError
from bench.data.blip import load_blip
from bench.data.fashion import load_fashion_gen
from bench.data.karpathy import load_karpathy
from bench.data.nocaps import load_nocaps
from bench.data.pedes import CUHK_PEDES, load_pedes

ESCAPES = ("absolute", "dotdot", "symlink")


def _escape(kind: str, images: Path, outside: Path) -> str:
    """An image path, relative to `images`, that leads to `outside` (a file out of the root)."""
    if kind == "absolute":
        return str(outside)
    if kind == "dotdot":
        return "../" * len(images.resolve().parts) + str(outside.resolve()).lstrip("/")
    link = images / "link.jpg"
    link.symlink_to(outside)
    return "link.jpg"


@pytest.fixture
def outside(tmp_path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(b"not yours")
    return secret


def _images(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ok.jpg").write_bytes(b"jpeg")
    return folder


def _karpathy(root: Path, rel: str) -> None:
    data = {"images": [{"split": "test", "filename": name, "sentences": [{"raw": "a cat"}]}
                       for name in ("ok.jpg", rel)]}
    (root / "karpathy.json").write_text(json.dumps(data))
    load_karpathy(root / "karpathy.json", root / "images")


def _blip(root: Path, rel: str) -> None:
    (root / "blip.json").write_text(json.dumps([{"image": name, "caption": ["a cat"]}
                                                for name in ("ok.jpg", rel)]))
    load_blip(root / "blip.json", root / "images", name="blip")


def _nocaps(root: Path, rel: str) -> None:
    records = [{"image": name, "caption": ["a cat"], "domain": "in-domain"}
               for name in ("ok.jpg", rel)]
    (root / "annotations.json").write_text(json.dumps(records))
    load_nocaps(root)


def _fashion(root: Path, rel: str) -> None:
    info = root / "full_valid_info_PAI"
    info.mkdir()
    for k, name in enumerate(("ok.jpg", rel)):
        (info / f"{k}.pkl").write_bytes(pickle.dumps({"img_name": name, "captions": "a coat"}))
    load_fashion_gen(root)


def _pedes(root: Path, rel: str) -> None:
    records = [{"id": k, "file_path": name, "split": "test", "captions": ["a man"]}
               for k, name in enumerate(("ok.jpg", rel))]
    (root / "reid_raw.json").write_text(json.dumps(records))
    load_pedes(CUHK_PEDES, root)


# loader, the folder its image paths are relative to (below the loader's root)
LOADERS = {
    "karpathy": (_karpathy, "images"),
    "blip": (_blip, "images"),
    "nocaps": (_nocaps, ""),
    "fashion-gen": (_fashion, "extracted_valid_images"),
    "cuhk-pedes": (_pedes, "imgs"),
}


@pytest.mark.parametrize("kind", ESCAPES)
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_an_image_path_leaving_the_root_is_refused(tmp_path, outside, loader, kind):
    load, below = LOADERS[loader]
    root = tmp_path / "data"
    images = _images(root / below)
    with pytest.raises(DataError, match="image path .* leads outside the image folder") as err:
        load(root, _escape(kind, images, outside))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_the_same_records_inside_the_root_load(tmp_path, loader):
    load, below = LOADERS[loader]
    root = tmp_path / "data"
    images = _images(root / below)
    (images / "sub").mkdir()
    (images / "sub" / "b.jpg").write_bytes(b"jpeg")
    (images / "link.jpg").symlink_to(images / "sub" / "b.jpg")  # a link that stays inside
    load(root, "sub/../link.jpg")  # no error


def test_an_integer_of_5000_digits_is_a_data_error(tmp_path):
    _images(tmp_path)
    (tmp_path / "annotations.json").write_text(
        '[{"image": "ok.jpg", "caption": ["a"], "domain": ' + "9" * 5000 + "}]")
    with pytest.raises(DataError, match="annotations.json: not valid JSON"):
        load_nocaps(tmp_path)


@pytest.mark.parametrize("payload", [b"\x80\x04N}b.",  # BUILD on None: AttributeError
                                     b"\x80\x04}K\x01b.", b"\x80\x04\x95garbage", b"",
                                     pickle.dumps(["img_name"])])
def test_a_malformed_fashion_gen_pickle_is_a_data_error(tmp_path, payload):
    _images(tmp_path / "extracted_valid_images")
    (tmp_path / "full_valid_info_PAI").mkdir()
    (tmp_path / "full_valid_info_PAI" / "0.pkl").write_bytes(payload)
    with pytest.raises(DataError, match="0.pkl") as err:
        load_fashion_gen(tmp_path)
    assert "\n" not in str(err.value)


def test_a_released_image_linked_out_of_its_folder_is_refused(tmp_path, outside):
    """TCR's released coco-IP tree is read below the data root only: a link out is refused."""
    from bench.data.layouts import load_layout
    from bench.data.released import missing_released, released_image
    from tests import helpers_realdata as fx

    rels = fx.coco_blip(tmp_path, n=2)
    folder = fx.released_images(tmp_path, "coco", "contrast", 5, rels, tmp_path / "coco")
    ds = load_layout("coco", tmp_path)
    assert released_image(ds, tmp_path, "contrast", 5, 1) == folder / rels[1]
    assert missing_released(ds, tmp_path, "contrast", 5, "image") is None
    (folder / rels[1]).unlink()
    (folder / rels[1]).symlink_to(outside)
    with pytest.raises(DataError, match=f"image path '{rels[1]}' leads outside"):
        released_image(ds, tmp_path, "contrast", 5, 1)
