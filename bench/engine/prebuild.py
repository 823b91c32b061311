"""`python -m bench build`: write a suite's shifted query sets to disk once (COCO-C style).

Layout (paths from bench/engine/prebuilt.py), under ``<root>/<dataset>-<split>/`` where
<root> is ``built/`` beside the dataset's annotation file, or ``build --out DIR`` for a
read-only data folder::

    images/<shift>/<severity>/<source path below the dataset folder>.png
        (under --out: <the image's sample id, its path below the image root>.png)
    captions/<shift>/<level>.json        {caption sample id: shifted caption}
    shards/<shift>-<severity>-<k>.json   done marker of image shard k (64 images):
                                         {"images": n, "failed": [{file, error}, ...]}

Each image and caption is shifted with the seed of its (sample id, shift, level,
corruption seed), as on the fly, and images are written losslessly (PNG): a run that
reads a built set (beside the data, or `run --built DIR`) scores exactly what a run
that corrupts on the fly scores. Image shards are spread over the workers; a resumed
build skips finished shards (and images already written) and caption sets already
written; an unreadable source image is named, recorded in its shard's marker and left
out; an unavailable text shift is skipped and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.api.protocol import PROTOCOL
from bench.api.registry import SHIFTS
from bench.data.dataset import RetrievalDataset
from bench.engine.inputs import caption_sample_ids, image_sample_id
from bench.engine.parallel import pmap
from bench.engine.prebuilt import built_captions, built_image, built_root
from bench.files import atomic_write

SHARD = 64


def _build_image_shard(job) -> dict:
    """Corrupt and write the images of one shard; returns the shard's marker content."""
    root, shift, severity, items, corruption_seed, by_id = job
    info = SHIFTS.get(shift)
    failed = []
    for source, sample_id in items:
        target = built_image(Path(root), shift, severity, Path(source),
                             sample_id if by_id else None)
        if target.exists():
            continue
        try:
            with Image.open(source) as im:
                image = np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as err:
            failed.append({"file": source, "error": str(err)})
            continue
        out = info.apply(image, severity, info.seed_for(sample_id, shift, severity,
                                                        corruption_seed))
        atomic_write(target, lambda p, o=out: Image.fromarray(o).save(p, format="PNG"))
    return {"images": len(items), "failed": failed}


@dataclass
class BuildReport:
    shards_done: int = 0
    shards_skipped: int = 0
    images: int = 0
    failed: list | None = None
    caption_sets: int = 0
    unavailable: list | None = None


def build_images(ds: RetrievalDataset, shifts: list[tuple[str, int]], workers: int,
                 quiet: bool = False, corruption_seed: int = PROTOCOL.corruption_seed,
                 plugins: tuple[str, ...] = (), out: Path | None = None) -> BuildReport:
    """Write the shifted images (under `out`/<dataset>-<split> when given, else beside the
    annotation file; under `out`, paths follow the sample ids: the path below the image root)."""
    root = built_root(ds, out)
    report = BuildReport(failed=[])
    jobs, markers = [], []
    for shift, severity in shifts:
        for k in range(0, ds.n_images, SHARD):
            marker = root / "shards" / f"{shift}-{severity}-{k // SHARD}.json"
            if marker.exists():
                report.shards_skipped += 1
                continue
            items = [(str(ds.image_paths[i]), image_sample_id(ds, i))
                     for i in range(k, min(k + SHARD, ds.n_images))]
            jobs.append((str(root), shift, severity, items, corruption_seed, out is not None))
            markers.append(marker)
    results = pmap(_build_image_shard, jobs, workers=workers, quiet=quiet,
                   desc=f"build {ds.name} image shards", plugins=plugins, min_parallel=2,
                   chunk_size=1)
    for marker, result in zip(markers, results, strict=True):
        for fail in result["failed"]:
            print(f"warning: cannot read {fail['file']}: {fail['error']} (left out)")
        report.failed += result["failed"]
        report.images += result["images"]
        report.shards_done += 1
        atomic_write(marker, lambda p, r=result: p.write_text(json.dumps(r)))
    return report


def _caption_job(job) -> str:
    text, shift, level, seed = job
    return SHIFTS.get(shift).apply(text, level, seed)


def build_captions(ds: RetrievalDataset, shifts: list[tuple[str, int]], workers: int,
                   quiet: bool = False, corruption_seed: int = PROTOCOL.corruption_seed,
                   plugins: tuple[str, ...] = (), out: Path | None = None) -> BuildReport:
    root = built_root(ds, out)
    report = BuildReport(unavailable=[])
    sample_ids = caption_sample_ids(ds)
    for shift, level in shifts:
        target = built_captions(root, shift, level)
        if target.exists():
            report.caption_sets += 1
            continue
        info = SHIFTS.get(shift)
        ok, reason = info.is_available()
        if not ok:
            print(f"skip {shift}@{level}: unavailable: {reason}")
            report.unavailable.append(f"{shift}@{level}")
            continue
        jobs = [(text, shift, level, info.seed_for(sample_ids[c], shift, level, corruption_seed))
                for c, text in enumerate(ds.captions)]
        shifted = pmap(_caption_job, jobs, workers=workers, quiet=quiet,
                     desc=f"build {ds.name} captions {shift}@{level}", plugins=plugins,
                     min_parallel=2000, chunk_size=256)
        by_id = dict(zip(sample_ids, shifted, strict=True))
        atomic_write(target, lambda p, t=by_id: p.write_text(json.dumps(t)))
        report.caption_sets += 1
    return report
