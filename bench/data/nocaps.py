"""Nocaps validation as TCR reads it: ``annotations.json`` and the images beside it.

Layout (TCR's ``data/nocaps_*_dataset.py``): ``<root>/annotations.json`` is a list of
``{"image": <path relative to root>, "caption": [captions...], "domain": "in-domain" |
"near-domain" | "out-domain"}``; images at ``<root>/<image>``. One split per domain,
and ``entire`` for all records. Each caption describes its own image (kind ``captions``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.api.errors import DataError
from bench.data._annot import caption_list, field, inside, read_json, require_dir, require_file
from bench.data.dataset import RetrievalDataset

ANNOTATION = "annotations.json"
DOMAINS = {"in": "in-domain", "near": "near-domain", "out": "out-domain", "entire": None}


def layout(root: Path) -> str:
    return (f"{root}/{ANNOTATION} (a list of records with 'image', 'caption' (a list) and "
            f"'domain' in-domain/near-domain/out-domain) and images under {root}/")


def load_nocaps(root: str | Path, domain: str = "entire", name: str | None = None) -> RetrievalDataset:
    """The Nocaps images of one domain (``in``, ``near``, ``out`` or ``entire``)."""
    if domain not in DOMAINS:
        raise DataError(f"unknown Nocaps domain '{domain}'", f"one of {', '.join(DOMAINS)}")
    root = Path(root)
    require_dir(root, layout(root))
    anno = require_file(root / ANNOTATION, layout(root))
    records = read_json(anno)
    if not isinstance(records, list):
        raise DataError(f"{anno}: the top level is not a list of records", layout(root))
    wanted = DOMAINS[domain]
    image_paths: list[Path] = []
    captions: list[str] = []
    caption_image: list[int] = []
    for index, record in enumerate(records):
        if wanted is not None and field(record, "domain", str, anno, index) != wanted:
            continue
        rel = field(record, "image", str, anno, index)
        caps = caption_list(field(record, "caption", list, anno, index), anno, index, "caption")
        captions.extend(caps)
        caption_image.extend([len(image_paths)] * len(caps))
        image_paths.append(inside(root, rel, anno, index))
    if not image_paths:
        present = sorted({r.get("domain") for r in records if isinstance(r, dict)} - {None})
        raise DataError(f"{anno}: no images of domain '{wanted}'",
                        f"domains present: {', '.join(map(str, present)) or 'none'}")
    if not image_paths[0].is_file():  # one stat: a wrong image folder fails here, not mid-run
        raise DataError(f"image not found: {image_paths[0]} (listed in {anno})", layout(root))
    meta = {"format": "nocaps", "domain": domain, "annotation": str(anno)}
    return RetrievalDataset(name=name or f"nocaps-{domain}", kind="captions",
                            image_paths=image_paths, captions=captions,
                            caption_image=np.asarray(caption_image), meta=meta)
