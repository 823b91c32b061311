"""Small remote-sensing retrieval datasets in their released layouts, written by the tests.

RSICD: ``RSICD/dataset_rsicd.json`` with images in ``RSICD/RSICD_images/``; RSITMD:
``RSITMD/dataset_RSITMD.json`` with ``RSITMD/images/``; UCM-Captions:
``UCM_captions/dataset.json`` with ``UCM_captions/imgs/`` (TIFF, numbered). Each annotation is
Karpathy-style: ``{"images": [{"filename", "imgid", "split", "sentences": [{"raw",
"tokens"}], "sentids"}], "dataset"}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers_realdata import caption, image

# dataset key -> (annotation, image folder, file name of image k, dataset field)
LAYOUTS = {
    "rsicd": ("RSICD/dataset_rsicd.json", "RSICD/RSICD_images", "airport_{k}.jpg", "rsicd"),
    "rsitmd": ("RSITMD/dataset_RSITMD.json", "RSITMD/images", "baseball_{k}.tif", "rsitmd"),
    "ucm-captions": ("UCM_captions/dataset.json", "UCM_captions/imgs", "{k}.tif", "ucm"),
}
SPLITS = ("train", "val", "test")


def remote_sensing(root: Path, key: str, n_test: int = 6, captions: int = 5) -> list[str]:
    """Write dataset `key` under `root`: `n_test` test images (and one train and one val
    image before them) with `captions` sentences each; the test file names, in order."""
    annotation, folder, pattern, name = LAYOUTS[key]
    recs, test_names = [], []
    for k in range(n_test + 2):
        split = SPLITS[k] if k < 2 else "test"
        filename = pattern.format(k=k + 1)
        image(root / folder / filename, k, size=(32, 32))
        sents = [caption(k, j) for j in range(captions)]
        recs.append({"filename": filename, "imgid": k, "split": split,
                     "sentences": [{"raw": s, "tokens": s.lower().rstrip(".").split(),
                                    "imgid": k, "sentid": 5 * k + j}
                                   for j, s in enumerate(sents)],
                     "sentids": [5 * k + j for j in range(captions)]})
        if split == "test":
            test_names.append(filename)
    (root / annotation).parent.mkdir(parents=True, exist_ok=True)
    (root / annotation).write_text(json.dumps({"images": recs, "dataset": name}))
    return test_names
