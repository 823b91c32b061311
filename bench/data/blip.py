"""BLIP's retrieval annotation files, what TCR reads: ``coco_karpathy_test.json``,
``flickr30k_test.json`` (and their ``_val`` twins).

Layout: a JSON list of ``{"image": "<path relative to the image root>", "caption":
[...]}`` (test/val files; training files have one caption string per record). As
TCR's ``data/coco_dataset.py`` does, the first 5 captions of each image are kept
(``ann['caption'][:5]``); images are not read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.api.errors import DataError
from bench.data._annot import (
    caption_list,
    captions_dataset,
    field,
    read_json,
    require_dir,
    require_file,
)
from bench.data.dataset import RetrievalDataset

LAYOUT = ("a BLIP annotation file (like coco_karpathy_test.json): a list of "
          "{'image': <path under the image root>, 'caption': [...]}")


def load_blip(json_path: str | Path, image_root: str | Path | Sequence[Path], name: str,
              captions_per_image: int | None = 5, split: str = "test") -> RetrievalDataset:
    """A BLIP-format split as a ``captions`` dataset (first `captions_per_image` captions).
    `image_root` may list candidate folders: the first holding the first image is used."""
    json_path = require_file(Path(json_path), LAYOUT)
    if isinstance(image_root, (str, Path)):
        image_root = require_dir(Path(image_root), LAYOUT)
    records = read_json(json_path)
    if not isinstance(records, list):
        raise DataError(f"{json_path}: the top level is not a list of records", f"expected {LAYOUT}")
    def parsed():
        for index, record in enumerate(records):
            rel = field(record, "image", str, json_path, index)
            value = field(record, "caption", (list, str), json_path, index)
            yield index, rel, caption_list([value] if isinstance(value, str) else value,
                                           json_path, index, where="caption")

    return captions_dataset(parsed(), captions_per_image, image_root, json_path, LAYOUT, name,
                            "blip", split, lambda: (f"{json_path}: no records", f"expected {LAYOUT}"))
