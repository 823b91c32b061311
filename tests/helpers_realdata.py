"""Small fixture datasets in each upstream format, written by the tests themselves.

Formats: Karpathy ``dataset_coco.json`` / ``dataset_flickr30k.json``; BLIP's
``coco_karpathy_test.json`` / ``flickr30k_test.json`` (a list of ``{image, caption}``,
what TCR reads); CUHK-PEDES ``reid_raw.json``, ICFG-PEDES ``ICFG-PEDES.json`` (or
IRRA's README spelling ``ICFG_PEDES.json``), RSTPReid ``data_captions.json``; TCR's
released ``coco-IP/COCO_IP_<shift>_<sev>/`` image folders and
``coco-TP/annotation_<Aug>/<level>/`` caption files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

WORDS = ("red", "blue", "tall", "small", "dog", "cat", "bike", "tree", "car", "hat")


def image(path: Path, seed: int, size: tuple[int, int] = (48, 40)) -> None:
    """A small random RGB JPEG/PNG (w, h) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)


def caption(k: int, j: int) -> str:
    return f"A {WORDS[k % 10]} {WORDS[(k + j + 3) % 10]} near a {WORDS[(3 * k + j) % 10]}."


def coco_karpathy(root: Path, n: int = 6, images_dir: str = "coco/images") -> list[str]:
    """DATA_ROOT/coco/dataset_coco.json, images at <images_dir>/val2014/<file>."""
    recs, rels = [], []
    for k in range(n):
        name = f"COCO_val2014_{k:012d}.jpg"
        image(root / images_dir / "val2014" / name, k)
        recs.append({"filepath": "val2014", "filename": name, "split": "test", "imgid": k,
                     "sentences": [{"raw": caption(k, j)} for j in range(5)]})
        rels.append(f"val2014/{name}")
    recs.append({"filepath": "train2014", "filename": "x.jpg", "split": "train",
                 "sentences": [{"raw": "unused"}]})
    (root / "coco").mkdir(parents=True, exist_ok=True)
    (root / "coco" / "dataset_coco.json").write_text(json.dumps({"images": recs}))
    return rels


def coco_blip(root: Path, n: int = 6, images_dir: str = "coco/val2014",
              ann: str = "coco/coco_karpathy_test.json") -> list[str]:
    """BLIP/TCR: ``coco_karpathy_test.json`` = [{image: 'val2014/<file>', caption: [...]}]."""
    recs = []
    base = Path(images_dir).parent
    for k in range(n):
        rel = f"val2014/COCO_val2014_{k:012d}.jpg"
        image(root / base / rel, k)
        recs.append({"image": rel, "caption": [caption(k, j) for j in range(5)]})
    (root / ann).parent.mkdir(parents=True, exist_ok=True)
    (root / ann).write_text(json.dumps(recs))
    return [r["image"] for r in recs]


def flickr_karpathy(root: Path, n: int = 5, images_dir: str = "flickr30k/flickr30k-images"):
    recs = []
    for k in range(n):
        name = f"{1000 + k}.jpg"
        image(root / images_dir / name, 100 + k)
        recs.append({"filename": name, "split": "test",
                     "sentences": [{"raw": caption(k, j)} for j in range(5)]})
    (root / "flickr30k").mkdir(parents=True, exist_ok=True)
    (root / "flickr30k" / "dataset_flickr30k.json").write_text(json.dumps({"images": recs}))
    return [r["filename"] for r in recs]


def flickr_blip(root: Path, n: int = 5) -> list[str]:
    """BLIP/TCR: ``flickr30k_test.json``, images 'flickr30k-images/<id>.jpg'."""
    recs = []
    for k in range(n):
        rel = f"flickr30k-images/{1000 + k}.jpg"
        image(root / "flickr30k" / rel, 100 + k)
        recs.append({"image": rel, "caption": [caption(k, j) for j in range(5)]})
    (root / "flickr30k" / "flickr30k_test.json").write_text(json.dumps(recs))
    return [r["image"] for r in recs]


def pedes(root: Path, fmt: str, records: list[dict] | None = None, n_persons: int = 4) -> Path:
    """A person-search folder: fmt in cuhk (reid_raw.json), icfg (ICFG-PEDES.json),
    icfg_irra (ICFG_PEDES.json), rstp (data_captions.json)."""
    folder, ann, field = {
        "cuhk": ("CUHK-PEDES", "reid_raw.json", "file_path"),
        "icfg": ("ICFG-PEDES", "ICFG-PEDES.json", "file_path"),
        "icfg_irra": ("ICFG-PEDES", "ICFG_PEDES.json", "file_path"),
        "rstp": ("RSTPReid", "data_captions.json", "img_path"),
    }[fmt]
    base = root / folder
    if records is None:
        records = []
        for p in range(n_persons):
            for cam in ("cam_a", "cam_b"):
                rel = f"{cam}/{p:04d}_{cam}.jpg"
                records.append({"id": p + 1, field: rel, "split": "test",
                                "captions": [caption(p, 0), caption(p, 1)]})
    for k, rec in enumerate(records):
        rel = rec.get(field) or rec.get("file_path") or rec.get("img_path")
        rec.setdefault(field, rel)
        target = base / "imgs" / rel
        if ".." not in Path(rel).parts:
            image(target, 500 + k, size=(32, 64))
    base.mkdir(parents=True, exist_ok=True)
    (base / ann).write_text(json.dumps(records))
    return base / ann


def released_images(root: Path, prefix: str, shift: str, severity: int, rels: list[str],
                    source_dir: Path) -> Path:
    """TCR's ``coco-IP/COCO_IP_<shift>_<sev>/`` (or flickr-IP/Flickr30K_IP_...): the clean
    tree and file names, pixels inverted (a stand-in for the released corruption)."""
    folder = {"coco": ("coco-IP", "COCO_IP"), "flickr": ("flickr-IP", "Flickr30K_IP")}[prefix]
    out = root / folder[0] / f"{folder[1]}_{shift}_{severity}"
    for rel in rels:
        with Image.open(source_dir / rel) as im:
            arr = 255 - np.asarray(im.convert("RGB"))
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(out / rel)
    return out


def released_captions(root: Path, prefix: str, aug: str, level: int, rels: list[str],
                      texts: list[list[str]]) -> Path:
    """TCR's ``coco-TP/annotation_<Aug>/<level>/coco_karpathy_test.json`` (BLIP format)."""
    folder, name = {"coco": ("coco-TP", "coco_karpathy_test.json"),
                    "flickr": ("flickr-TP", "flickr30k_test.json")}[prefix]
    out = root / folder / f"annotation_{aug}" / str(level) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"image": r, "caption": t} for r, t in zip(rels, texts, strict=True)]))
    return out
