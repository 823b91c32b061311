"""Where each real dataset's files may sit under ``--data-root``: the layouts researchers have.

COCO and Flickr30K come as Karpathy's ``dataset_*.json`` or as BLIP's
``coco_karpathy_test.json`` / ``flickr30k_test.json`` (what TCR reads), with
images in ``images/``, directly in the dataset folder (``coco/val2014/``,
``flickr30k/flickr30k-images/`` as the official archives unpack) or in TCR's
``coco_image/`` / ``flickr_image/``. ICFG-PEDES is ``ICFG-PEDES.json`` (the
dataset's and TCR's spelling) or ``ICFG_PEDES.json`` (IRRA's README). The first
layout whose annotation file exists is used; when none does, one line names what
was looked for, what was found, and what to rename. Nocaps and Fashion-Gen come in
the layout TCR reads (``nocaps/annotations.json``; ``Fashion-Gen/full_valid_info_PAI/``,
a folder of pickles: its "annotation" is that folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.api.errors import DataError
from bench.data.dataset import RetrievalDataset


@dataclass(frozen=True)
class Layout:
    annotation: str  # relative to the data root
    fmt: str  # karpathy | blip | cuhk-pedes | icfg-pedes | rstpreid | nocaps-<domain> | fashion-gen
    image_roots: tuple[str, ...]  # candidate image folders, relative to the data root


def _captions(folder: str, karpathy: str, blip: str, karpathy_images: tuple[str, ...],
              blip_images: tuple[str, ...]) -> tuple[Layout, ...]:
    out = [Layout(f"{folder}/{karpathy}", "karpathy", tuple(f"{folder}/{d}".rstrip("/")
                                                           for d in karpathy_images))]
    for sub in ("", "annotations/", f"{folder.split('/')[0]}_annotations/"):
        out.append(Layout(f"{folder}/{sub}{blip}", "blip",
                          tuple(f"{folder}/{d}".rstrip("/") for d in blip_images)))
    return tuple(out)


LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "coco": _captions("coco", "dataset_coco.json", "coco_karpathy_test.json",
                      ("images", "", "coco_image"), ("", "images", "coco_image")),
    "flickr30k": _captions("flickr30k", "dataset_flickr30k.json", "flickr30k_test.json",
                           ("images", "flickr30k-images", "flickr_image", ""),
                           ("", "images", "flickr_image")),
    "cuhk-pedes": (Layout("CUHK-PEDES/reid_raw.json", "cuhk-pedes", ("CUHK-PEDES/imgs",)),),
    "icfg-pedes": (Layout("ICFG-PEDES/ICFG-PEDES.json", "icfg-pedes", ("ICFG-PEDES/imgs",)),
                   Layout("ICFG-PEDES/ICFG_PEDES.json", "icfg-pedes", ("ICFG-PEDES/imgs",))),
    "rstpreid": (Layout("RSTPReid/data_captions.json", "rstpreid", ("RSTPReid/imgs",)),),
    **{f"nocaps-{d}": (Layout("nocaps/annotations.json", f"nocaps-{d}", ("nocaps",)),)
       for d in ("in", "near", "out", "entire")},
    "fashion-gen": (Layout("Fashion-Gen/full_valid_info_PAI", "fashion-gen",
                           ("Fashion-Gen/extracted_valid_images",)),),
    # remote-sensing image-text retrieval: Karpathy-style JSON as each dataset is released
    "rsicd": (Layout("RSICD/dataset_rsicd.json", "karpathy",
                     ("RSICD/RSICD_images", "RSICD/images")),),
    "rsitmd": (Layout("RSITMD/dataset_RSITMD.json", "karpathy", ("RSITMD/images",)),),
    "ucm-captions": (Layout("UCM_captions/dataset.json", "karpathy",
                            ("UCM_captions/imgs", "UCM_captions/images")),),
}
_FOLDER_FORMATS = ("fashion-gen",)  # the annotation is a folder of records


def find_layout(key: str, root: Path) -> Layout | None:
    """The first layout of dataset `key` whose annotation file exists under `root`."""
    def present(lay: Layout) -> bool:
        path = Path(root) / lay.annotation
        return path.is_dir() if lay.fmt in _FOLDER_FORMATS else path.is_file()

    return next((lay for lay in LAYOUTS[key] if present(lay)), None)


def looked_for(key: str) -> str:
    return ", ".join(lay.annotation for lay in LAYOUTS[key])


def missing_reason(key: str, root: Path) -> str | None:
    """None when an annotation file of `key` is present, else the one-line hint."""
    if find_layout(key, root) is not None:
        return None
    folders = sorted({Path(lay.annotation).parts[0] for lay in LAYOUTS[key]})
    found = sorted(str(p.relative_to(root)) for f in folders if (Path(root) / f).is_dir()
                   for p in list((Path(root) / f).glob("*.json"))
                   + list((Path(root) / f).glob("*/*.json")))[:4]
    seen = f"found {', '.join(found)}" if found else f"found no .json under {'/, '.join(folders)}/"
    return (f"{key}: no annotation file under {root}: looked for {looked_for(key)}; {seen}; "
            f"rename yours to one of these (README: Real data)")


def load_layout(key: str, root: Path, name: str | None = None) -> RetrievalDataset:
    """The test split of dataset `key` from the first layout found under `root`."""
    from bench.data import blip, fashion, karpathy, nocaps, pedes

    root = Path(root)
    lay = find_layout(key, root)
    if lay is None:
        raise DataError(missing_reason(key, root))
    anno = root / lay.annotation
    images = [root / d for d in lay.image_roots]
    name = name or key
    if lay.fmt == "karpathy":
        return karpathy.load_karpathy(anno, images, split="test", name=name)
    if lay.fmt == "blip":
        return blip.load_blip(anno, images, name=name)
    if lay.fmt.startswith("nocaps-"):
        return nocaps.load_nocaps(anno.parent, lay.fmt.removeprefix("nocaps-"), name=name)
    if lay.fmt == "fashion-gen":
        return fashion.load_fashion_gen(anno.parent, name=name)
    fmt = {"cuhk-pedes": pedes.CUHK_PEDES, "icfg-pedes": pedes.ICFG_PEDES,
           "rstpreid": pedes.RSTPREID}[lay.fmt]
    return pedes.load_pedes(fmt, anno.parent, split="test", name=name, annotation=anno.name)
