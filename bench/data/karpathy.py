"""Karpathy-split JSON (``dataset_coco.json``, ``dataset_flickr30k.json``): image-caption data.

Layout: ``{"dataset": ..., "images": [{"filepath"?, "filename", "split",
"sentences": [{"raw", "tokens", ...}], "imgid", ...}]}``. COCO records carry a
``filepath`` ("val2014"); Flickr30K records do not, their images sit directly in
the image root.
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
    split_names,
)
from bench.data.dataset import RetrievalDataset

LAYOUT = ("a Karpathy-split JSON (like dataset_coco.json) with an 'images' list, and images "
          "at <image_root>/<filepath>/<filename> (COCO) or <image_root>/<filename> (Flickr30K)")


def load_karpathy(json_path: str | Path, image_root: str | Path | Sequence[Path],
                  split: str = "test", captions_per_image: int | None = 5,
                  name: str | None = None) -> RetrievalDataset:
    """One split of a Karpathy JSON as a ``captions`` dataset.

    Keeps the first ``captions_per_image`` captions of each image in file order (COCO
    has a few images with 6-7; the protocol uses the first 5); ``None`` keeps all.
    ``split`` may join names with ``+`` (``"train+restval"``). `image_root` may list
    candidate folders: the first holding the first image is used. Images are not read.
    """
    json_path = require_file(Path(json_path), LAYOUT)
    if isinstance(image_root, (str, Path)):
        image_root = require_dir(Path(image_root), LAYOUT)
    data = read_json(json_path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DataError(f"{json_path}: no top-level 'images' list", f"expected {LAYOUT}")
    wanted = split_names(split)

    def parsed():
        for index, record in enumerate(data["images"]):
            if field(record, "split", str, json_path, index) in wanted:
                yield (index, *_parse_record(record, json_path, index))

    extra = {"generator": data["bench_generator"]} if "bench_generator" in data else None
    return captions_dataset(parsed(), captions_per_image, image_root, json_path, LAYOUT,
                            name or str(data.get("dataset") or json_path.stem), "karpathy", split,
                            lambda: (f"{json_path}: no images in split '{split}'",
                                     f"splits present: {_splits_present(data)}"),
                            extra)


def _splits_present(data: dict) -> str:
    present = sorted({r.get("split") for r in data["images"] if isinstance(r, dict)} - {None})
    return ", ".join(map(str, present)) or "none"


def _parse_record(record: dict, json_path: Path, index: int) -> tuple[str, list[str]]:
    filename = field(record, "filename", str, json_path, index)
    filepath = record.get("filepath")
    if filepath is not None and not isinstance(filepath, str):
        raise DataError(f"{json_path}: record {index} field 'filepath' is not a string")
    sentences = field(record, "sentences", list, json_path, index)
    raws = []
    for k, sentence in enumerate(sentences):
        if not isinstance(sentence, dict) or "raw" not in sentence:
            raise DataError(f"{json_path}: record {index} sentence {k} has no 'raw' caption")
        raws.append(sentence["raw"])
    caps = caption_list(raws, json_path, index, where="sentences")
    return (f"{filepath}/{filename}" if filepath else filename), caps
