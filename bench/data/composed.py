"""Composed image retrieval data: FashionIQ and CIRR in their official layouts.

A query is a reference image and a modification text; the gallery is the split's images
(bench/data/dataset.py, kind ``composed``). What each benchmark's reference evaluation
does, and bench with it:

* FashionIQ (``captions/cap.<category>.<split>.json``: ``candidate``, ``target``,
  ``captions`` [2 texts]; ``image_splits/split.<category>.<split>.json``: the gallery's
  names; ``images/<name>.png`` or ``.jpg``): one gallery per category (dress, shirt, toptee),
  the two captions joined as CLIP4Cir's validate.py joins them (the first stripped of
  ``.?, `` and capitalised, " and ", the second stripped); the reference stays a candidate;
  R@10 and R@50 are the reported ones, averaged over the categories.
* CIRR (``cirr/captions/cap.rc2.<split>.json``: ``reference``, ``target_hard``, ``caption``,
  ``img_set.members``; ``cirr/image_splits/split.rc2.<split>.json``: name -> path relative to
  the data folder): the gallery is every image of the split; the reference is taken out of
  its query's candidates; Recall@1/5/10/50 and Recall_subset@1/2/3 among ``img_set``.
  The test split's targets are hidden (scored on CIRR's server): validation only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.api.errors import DataError
from bench.data._annot import field, inside, read_json, require_file
from bench.data.dataset import RetrievalDataset

FASHIONIQ_CATEGORIES = ("dress", "shirt", "toptee")
FASHIONIQ_FOLDERS = ("fashionIQ_dataset", "fashioniq", "FashionIQ")
CIRR_FOLDERS = ("cirr_dataset", "CIRR", ".")
FASHIONIQ_LAYOUT = ("FASHIONIQ/captions/cap.<category>.val.json, "
                    "FASHIONIQ/image_splits/split.<category>.val.json, FASHIONIQ/images/<name>.png "
                    f"(FASHIONIQ: one of {', '.join(FASHIONIQ_FOLDERS)} under --data-root)")
CIRR_LAYOUT = ("CIRR/cirr/captions/cap.rc2.val.json, CIRR/cirr/image_splits/split.rc2.val.json "
               "and the images they name (CIRR: cirr_dataset/, CIRR/ or --data-root itself)")


def fashioniq_caption(captions: list[str]) -> str:
    """The query text of a FashionIQ pair of captions, joined as CLIP4Cir's evaluation does."""
    if len(captions) == 1:
        return captions[0].strip(".?, ").capitalize()
    return f"{captions[0].strip('.?, ').capitalize()} and {captions[1].strip('.?, ')}"


def find_fashioniq(root: Path) -> Path | None:
    """The FashionIQ folder under `root` (one holding ``captions/``), or None."""
    for name in FASHIONIQ_FOLDERS:
        if (Path(root) / name / "captions").is_dir():
            return Path(root) / name
    return None


def find_cirr(root: Path) -> Path | None:
    """The CIRR folder under `root` (the one holding ``cirr/captions/``), or None."""
    for name in CIRR_FOLDERS:
        if (Path(root) / name / "cirr" / "captions").is_dir():
            return Path(root) / name
    return None


def fashioniq_missing(root: Path | None, category: str, split: str = "val") -> str | None:
    folder = find_fashioniq(root) if root is not None else None
    if folder is None or not (folder / "captions" / f"cap.{category}.{split}.json").is_file():
        return f"FashionIQ {category} {split} not found: expected {FASHIONIQ_LAYOUT}"
    return None


def cirr_missing(root: Path | None, split: str = "val") -> str | None:
    folder = find_cirr(root) if root is not None else None
    if folder is None or not (folder / "cirr" / "captions" / f"cap.rc2.{split}.json").is_file():
        return f"CIRR {split} not found: expected {CIRR_LAYOUT}"
    return None


def _image_file(images: Path, name: str, json_path: Path, index: int) -> Path:
    for ext in (".png", ".jpg"):
        path = inside(images, f"{name}{ext}", json_path, index)
        if path.is_file():
            return path
    return inside(images, f"{name}.png", json_path, index)  # reported by the image check


def load_fashioniq(root: Path, category: str, split: str = "val",
                   name: str | None = None) -> RetrievalDataset:
    """One FashionIQ category's split: gallery = its image split, queries = its captions."""
    if category not in FASHIONIQ_CATEGORIES:
        raise DataError(f"unknown FashionIQ category '{category}'",
                        f"one of {', '.join(FASHIONIQ_CATEGORIES)}")
    folder = find_fashioniq(root)
    if folder is None:
        raise DataError(f"FashionIQ not found under {root}", f"expected {FASHIONIQ_LAYOUT}")
    cap_path = require_file(folder / "captions" / f"cap.{category}.{split}.json", FASHIONIQ_LAYOUT)
    split_path = require_file(folder / "image_splits" / f"split.{category}.{split}.json",
                              FASHIONIQ_LAYOUT)
    names = read_json(split_path)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataError(f"{split_path}: not a list of image names")
    index = {n: i for i, n in enumerate(names)}
    records = read_json(cap_path)
    if not isinstance(records, list):
        raise DataError(f"{cap_path}: not a list of records")
    refs, targets, texts = [], [], []
    for k, rec in enumerate(records):
        ref = field(rec, "candidate", str, cap_path, k)
        tgt = field(rec, "target", str, cap_path, k)
        caps = field(rec, "captions", list, cap_path, k)
        if not caps or not all(isinstance(c, str) for c in caps):
            raise DataError(f"{cap_path}: record {k} field 'captions' holds no texts")
        for role, n in (("candidate", ref), ("target", tgt)):
            if n not in index:
                raise DataError(f"{cap_path}: record {k} {role} '{n}' is not in {split_path.name}",
                                "the captions and the image split must be of the same split")
        refs.append(index[ref])
        targets.append(index[tgt])
        texts.append(fashioniq_caption(caps))
    images = folder / "images"
    paths = [_image_file(images, n, split_path, i) for i, n in enumerate(names)]
    return RetrievalDataset(
        name=name or f"fashioniq-{category}", kind="composed", image_paths=paths,
        captions=texts, caption_image=np.asarray(targets, dtype=np.int64),
        meta={"image_root": str(images), "split": split, "category": category},
        reference_image=np.asarray(refs, dtype=np.int64), remove_reference=False)


def load_cirr(root: Path, split: str = "val", name: str = "cirr",
              meta: dict | None = None) -> RetrievalDataset:
    """CIRR's split (or a generated set in its layout): gallery = every image of the split."""
    if split.startswith("test"):
        raise DataError(f"CIRR's {split} targets are hidden (scored on its evaluation server)",
                        "use the val split")
    folder = find_cirr(root)
    if folder is None:
        raise DataError(f"CIRR not found under {root}", f"expected {CIRR_LAYOUT}")
    cap_path = require_file(folder / "cirr" / "captions" / f"cap.rc2.{split}.json", CIRR_LAYOUT)
    split_path = require_file(folder / "cirr" / "image_splits" / f"split.rc2.{split}.json",
                              CIRR_LAYOUT)
    mapping = read_json(split_path)
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise DataError(f"{split_path}: not an object of image name -> relative path")
    names = list(mapping)
    index = {n: i for i, n in enumerate(names)}
    paths = [inside(folder, mapping[n], split_path, i) for i, n in enumerate(names)]
    records = read_json(cap_path)
    if not isinstance(records, list):
        raise DataError(f"{cap_path}: not a list of records")
    refs, targets, texts, subsets = [], [], [], []
    for k, rec in enumerate(records):
        ref = field(rec, "reference", str, cap_path, k)
        tgt = field(rec, "target_hard", str, cap_path, k)
        texts.append(field(rec, "caption", str, cap_path, k).strip())
        members = field(field(rec, "img_set", dict, cap_path, k), "members", list, cap_path, k)
        for role, n in (("reference", ref), ("target_hard", tgt), *(("img_set member", m)
                                                                   for m in members)):
            if n not in index:
                raise DataError(f"{cap_path}: record {k} {role} '{n}' is not in "
                                f"{split_path.name}")
        refs.append(index[ref])
        targets.append(index[tgt])
        subsets.append(np.asarray([index[m] for m in members], dtype=np.int64))
    return RetrievalDataset(
        name=name, kind="composed", image_paths=paths, captions=texts,
        caption_image=np.asarray(targets, dtype=np.int64),
        meta={"image_root": str(folder), "split": split, **(meta or {})},
        reference_image=np.asarray(refs, dtype=np.int64), remove_reference=True,
        subsets=subsets)
