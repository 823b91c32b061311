"""TCR's released pre-built COCO-C / Flickr-C files, as an alternative to bench's own corruption.

TCR (2025-ICLR-TCR, configs/QS/) reads, beside the clean data::

    DATA_ROOT/coco-IP/COCO_IP_<shift>_<severity>/...     corrupted images, the clean tree
    DATA_ROOT/coco-TP/annotation_<Aug>/<level>/coco_karpathy_test.json   corrupted captions
    DATA_ROOT/flickr-IP/Flickr30K_IP_<shift>_<severity>/...
    DATA_ROOT/flickr-TP/annotation_<Aug>/<level>/flickr30k_test.json

`run --queries released` takes a cell's shifted queries from these files (the row
records ``queries: released`` and its cell id differs); `compare-queries` sets
them against bench's own corruption. A missing released file is an error, never
replaced by bench's own corruption.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.api.errors import DataError
from bench.data._annot import inside, read_json
from bench.data.dataset import RetrievalDataset

# bench text shift -> TCR's folder name (annotation_<name>); image shifts keep their names
TEXT_NAMES = {"ocr": "OcrAug", "ci": "RandomCharAug_insert", "cr": "RandomCharAug_substitute",
              "cs": "RandomCharAug_swap", "cd": "RandomCharAug_delete", "sr": "sr", "ri": "ri",
              "rs": "rs", "rd": "rd", "ip": "ip", "formal": "formal", "casual": "casual",
              "passive": "passive", "active": "active", "backtrans": "back_trans"}


@dataclass(frozen=True)
class ReleasedNames:
    image_dir: str  # coco-IP
    image_prefix: str  # COCO_IP
    text_dir: str  # coco-TP
    annotation: str  # coco_karpathy_test.json


RELEASED = {"coco": ReleasedNames("coco-IP", "COCO_IP", "coco-TP", "coco_karpathy_test.json"),
            "flickr30k": ReleasedNames("flickr-IP", "Flickr30K_IP", "flickr-TP",
                                       "flickr30k_test.json")}


def names_for(ds: RetrievalDataset) -> ReleasedNames:
    if ds.name not in RELEASED:
        raise DataError(f"dataset {ds.name} has no released pre-built queries",
                        "--queries released applies to coco-c and flickr-c cells only")
    return RELEASED[ds.name]


def image_folder(ds: RetrievalDataset, root: Path, shift: str, severity: int) -> Path:
    n = names_for(ds)
    return Path(root) / n.image_dir / f"{n.image_prefix}_{shift}_{severity}"


def released_image(ds: RetrievalDataset, root: Path, shift: str, severity: int, i: int) -> Path:
    """The released copy of image `i`: the same path below the folder as below the clean
    image root (also tried below the image root's own name: Karpathy Flickr30K's root is
    ``flickr30k-images/`` itself, while TCR's tree keeps that folder)."""
    folder = image_folder(ds, root, shift, severity)
    sid = ds.sample_id(i)
    first = inside(folder, sid, folder, None)  # a link in the released tree must stay in it
    if first.is_file():
        return first
    image_root = ds.meta.get("image_root")
    if image_root:
        second = inside(folder, f"{Path(image_root).name}/{sid}", folder, None)
        if second.is_file():
            return second
    return first


def caption_file(ds: RetrievalDataset, root: Path, shift: str, level: int) -> Path:
    if shift not in TEXT_NAMES:
        raise DataError(f"text shift {shift} has no released counterpart")
    n = names_for(ds)
    return Path(root) / n.text_dir / f"annotation_{TEXT_NAMES[shift]}" / str(level) / n.annotation


def released_captions(ds: RetrievalDataset, root: Path, shift: str, level: int) -> list[str]:
    """The released corrupted caption of every caption of `ds`, in dataset order (matched by
    image path and caption position)."""
    path = caption_file(ds, root, shift, level)
    if not path.is_file():
        raise DataError(f"released captions not found: {path}",
                        "TCR's coco-TP / flickr-TP folders go beside coco/ and flickr30k/")
    records = read_json(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: the top level is not a list of records")
    by_image: dict[str, list[str]] = {}
    for rec in records:
        if isinstance(rec, dict) and isinstance(rec.get("image"), str):
            caps = rec.get("caption")
            by_image[rec["image"]] = [caps] if isinstance(caps, str) else list(caps or [])
    out, seen = [], {}
    for img in ds.caption_image.tolist():
        k = seen.get(img, 0)
        seen[img] = k + 1
        caps = by_image.get(ds.sample_id(img)) or by_image.get(
            f"{Path(ds.meta.get('image_root', '')).name}/{ds.sample_id(img)}")
        if caps is None or k >= len(caps):
            raise DataError(f"{path}: no caption {k} for image {ds.sample_id(img)}",
                            "the released file must cover the same test split")
        out.append(caps[k])
    return out


def missing_released(ds: RetrievalDataset, root: Path, shift: str, severity: int,
                     modality: str) -> str | None:
    """None when the released files of (shift, severity) are all present, else a one-liner."""
    if modality == "text":
        path = caption_file(ds, root, shift, severity)
        return None if path.is_file() else f"released captions not found: {path}"
    folder = image_folder(ds, root, shift, severity)
    if not folder.is_dir():
        return f"released images not found: {folder}"
    missing = [i for i in range(ds.n_images)
               if not released_image(ds, root, shift, severity, i).is_file()]
    if missing:
        return (f"{len(missing)} of {ds.n_images} released images missing in {folder} "
                f"(first: {ds.sample_id(missing[0])})")
    return None
