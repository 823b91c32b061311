"""Fashion-Gen validation as TCR reads it: one pickle per image, grouped by product.

Layout (TCR's ``data/fashion_gen_dataset.py``): ``<root>/full_valid_info_PAI/*.pkl``,
each a dict ``{"img_name": "<product>_<view>.png", "captions": str | [str, ...]}``, and
the images under ``<root>/extracted_valid_images/``. The product is the part of the
image name before the first ``_``. Relevance is many-to-many, as TCR's ``txt2img`` /
``img2txt``: every image of a product is relevant to each caption of that product
(kind ``fashion``; the product is the group id). Each pickle's captions are kept as
its own queries, as TCR extends the product's list once per image.

The pickles are read with an unpickler that accepts plain data only (no code).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from bench.api.errors import DataError, describe
from bench.data._annot import inside, require_dir
from bench.data.dataset import RetrievalDataset

INFO_DIR = "full_valid_info_PAI"
IMAGE_DIR = "extracted_valid_images"


def layout(root: Path) -> str:
    return (f"{root}/{INFO_DIR}/*.pkl (dicts with 'img_name' and 'captions') and images "
            f"under {root}/{IMAGE_DIR}/")


class _DataOnly(pickle.Unpickler):
    """Refuses every global: plain dicts, lists and strings need none."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing {module}.{name}: not plain data")


def _read_pickle(path: Path) -> dict:
    try:
        value = _DataOnly(io.BytesIO(path.read_bytes())).load()
    except Exception as err:  # noqa: BLE001 - a malformed pickle fails in many ways; no code runs
        raise DataError(f"cannot read Fashion-Gen record {path}: {describe(err)[:160]}") from err
    if not isinstance(value, dict) or not isinstance(value.get("img_name"), str):
        raise DataError(f"{path}: not a dict with an 'img_name' string")
    return value


def _captions(value, path: Path) -> list[str]:
    caps = value.get("captions")
    caps = [caps] if isinstance(caps, str) else caps
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise DataError(f"{path}: 'captions' is not a string or a list of strings")
    return [c.strip() for c in caps]


def load_fashion_gen(root: str | Path, name: str = "fashion-gen") -> RetrievalDataset:
    """Fashion-Gen validation as a ``fashion`` dataset (group id: the product)."""
    root = Path(root)
    info = require_dir(root / INFO_DIR, layout(root))
    images_dir = require_dir(root / IMAGE_DIR, layout(root))
    files = sorted(p for p in info.iterdir() if p.suffix == ".pkl")
    if not files:
        raise DataError(f"no .pkl records in {info}", layout(root))
    products: dict[str, int] = {}
    image_paths: list[Path] = []
    groups: list[int] = []
    captions: list[str] = []
    caption_image: list[int] = []
    for path in files:
        value = _read_pickle(path)
        img_name = value["img_name"]
        caps = _captions(value, path)
        group = products.setdefault(img_name.split("_")[0], len(products))
        captions.extend(caps)
        caption_image.extend([len(image_paths)] * len(caps))
        image_paths.append(inside(images_dir, img_name, path, None))
        groups.append(group)
    if not image_paths[0].is_file():
        raise DataError(f"image not found: {image_paths[0]} (named in {files[0]})", layout(root))
    meta = {"format": "fashion-gen", "records": str(info), "products": len(products)}
    return RetrievalDataset(name=name, kind="fashion", image_paths=image_paths,
                            captions=captions, caption_image=np.asarray(caption_image),
                            person_ids=np.asarray(groups), meta=meta)
