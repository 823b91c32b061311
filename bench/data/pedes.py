"""Text-based person search annotations: CUHK-PEDES, ICFG-PEDES and RSTPReid.

All three are one JSON list of image records with a ``split`` field, a
``captions`` list, a person ``id`` and an image path relative to ``<root>/imgs``;
they differ in the file name and the path field (the layout IRRA's loaders read):

* CUHK-PEDES: ``reid_raw.json``, ``file_path``; splits train / val / test.
* ICFG-PEDES: ``ICFG-PEDES.json`` (IRRA's README spells it ``ICFG_PEDES.json``: both are
  read), ``file_path``; splits train / test.
* RSTPReid: ``data_captions.json``, ``img_path``; splits train / val / test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.api.errors import DataError
from bench.data._annot import (
    caption_list,
    field,
    inside,
    read_json,
    require_dir,
    require_file,
    split_names,
)
from bench.data.dataset import RetrievalDataset


@dataclass(frozen=True)
class PedesFormat:
    """What distinguishes one person-search annotation format from another."""

    name: str
    annotation: str  # file name under the root
    path_field: str  # record field holding the image path relative to <root>/imgs

    def layout(self, root: Path) -> str:
        return (f"{root}/{self.annotation} (a list of records with 'split', 'captions', "
                f"'{self.path_field}', 'id') and images under {root}/imgs/")


CUHK_PEDES = PedesFormat("cuhk-pedes", "reid_raw.json", "file_path")
ICFG_PEDES = PedesFormat("icfg-pedes", "ICFG-PEDES.json", "file_path")
ANNOTATION_ALIASES = {"ICFG-PEDES.json": ("ICFG_PEDES.json",)}  # IRRA README's spelling
RSTPREID = PedesFormat("rstpreid", "data_captions.json", "img_path")


def load_cuhk_pedes(root: str | Path, split: str = "test",
                    name: str | None = None) -> RetrievalDataset:
    """CUHK-PEDES (``root/reid_raw.json`` + ``root/imgs``) as a ``reid`` dataset."""
    return load_pedes(CUHK_PEDES, root, split, name)


def load_icfg_pedes(root: str | Path, split: str = "test",
                    name: str | None = None) -> RetrievalDataset:
    """ICFG-PEDES (``root/ICFG-PEDES.json`` + ``root/imgs``) as a ``reid`` dataset."""
    return load_pedes(ICFG_PEDES, root, split, name)


def load_rstpreid(root: str | Path, split: str = "test",
                  name: str | None = None) -> RetrievalDataset:
    """RSTPReid (``root/data_captions.json`` + ``root/imgs``) as a ``reid`` dataset."""
    return load_pedes(RSTPREID, root, split, name)


def annotation_file(fmt: PedesFormat, root: Path) -> Path:
    """The format's annotation file under `root`, or an accepted alias of its name."""
    for name in (fmt.annotation, *ANNOTATION_ALIASES.get(fmt.annotation, ())):
        if (root / name).is_file():
            return root / name
    return root / fmt.annotation


def load_pedes(fmt: PedesFormat, root: str | Path, split: str = "test",
               name: str | None = None, annotation: str | None = None) -> RetrievalDataset:
    """One split of a person-search JSON; person ids are the records' ``id`` values."""
    root = Path(root)
    require_dir(root, fmt.layout(root))
    anno = root / annotation if annotation else annotation_file(fmt, root)
    anno = require_file(anno, fmt.layout(root))
    img_dir = require_dir(root / "imgs", fmt.layout(root))
    records = read_json(anno)
    if not isinstance(records, list):
        raise DataError(f"{anno}: the top level is not a list of records", fmt.layout(root))
    wanted = split_names(split)

    image_paths: list[Path] = []
    person_ids: list[int] = []
    captions: list[str] = []
    caption_image: list[int] = []
    generator = None
    for index, record in enumerate(records):
        if field(record, "split", str, anno, index) not in wanted:
            continue
        rel = field(record, fmt.path_field, str, anno, index)
        caps = caption_list(field(record, "captions", list, anno, index), anno, index)
        pid = _person_id(field(record, "id", (int, str), anno, index), anno, index)
        captions.extend(caps)
        caption_image.extend([len(image_paths)] * len(caps))
        image_paths.append(inside(img_dir, rel, anno, index))
        person_ids.append(pid)
        generator = generator or record.get("bench_generator")

    if not image_paths:
        present = sorted({r.get("split") for r in records if isinstance(r, dict)} - {None})
        raise DataError(f"{anno}: no images in split '{split}'",
                        f"splits present: {', '.join(map(str, present)) or 'none'}")
    if not image_paths[0].is_file():  # one stat: a wrong image folder fails here, not mid-run
        raise DataError(f"image not found: {image_paths[0]} (listed in {anno})", fmt.layout(root))
    meta = {"format": fmt.name, "split": split, "annotation": str(anno),
            "image_root": str(img_dir)}
    if generator:
        meta["generator"] = generator
    return RetrievalDataset(name=name or fmt.name, kind="reid", image_paths=image_paths,
                            captions=captions, caption_image=np.asarray(caption_image),
                            person_ids=np.asarray(person_ids), meta=meta)


def _person_id(value: int | str, anno: Path, index: int) -> int:
    # Some releases store ids as strings ("0001"); both mean the same person.
    try:
        return int(value)
    except ValueError as err:
        raise DataError(f"{anno}: record {index} field 'id' is not an integer") from err
