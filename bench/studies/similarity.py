"""Severity check by embedding similarity: how far each image shift moves the query embedding.

For every image-shift cell of a suite (i2t, single stream) and each severity, the
mean cosine similarity between the source model's embedding of a clean query image
and of the same image shifted. A well-formed severity scale lowers it step by step.
It needs no captions and no adaptation, so it is a cheaper, less noisy view of
severity than R@1 (docs/protocol.md section 4). The images come from the same
query cache as `run`: with a warm cache only the encoding is left (about 3 s per
1,000 mini-scenes images on 2 CPU cores).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from bench.api.registry import SHIFTS, load_builtins
from bench.engine.cell_run import Resources
from bench.engine.inputs import encode_image_array, resized_images
from bench.engine.planning import plan_run
from bench.engine.settings import RunSettings
from bench.shifts import CLEAN

COLUMNS = ["suite", "dataset", "model", "shift", "severity", "n_images", "paired", "cosine"]


def image_shift_cells(opts: RunSettings, shifts: list[str] | None = None) -> list:
    """The suites' single-stream i2t cells of image shifts (all, or those named in `shifts`),
    at the severities of `opts`."""
    load_builtins()
    for name in shifts or []:
        SHIFTS.get(name)  # an unknown name lists the known ones
    cells = plan_run(opts.select(methods=["source"], overrides={}))
    return [c for c in cells if c.spec.direction == "i2t" and c.spec.stream == "single"
            and c.spec.shift != CLEAN and SHIFTS.get(c.spec.shift).modality == "image"
            and (not shifts or c.spec.shift in shifts)]


def similarity_table(opts: RunSettings, device: torch.device, paired: bool = False,
                     shifts: list[str] | None = None) -> pd.DataFrame:
    """One row per (suite, dataset, shift, severity): mean clean-vs-shifted cosine similarity
    over the query images that could be read (the first `opts.protocol.limit` when set).

    By default the images are the benchmark's own (seeded per sample, shift and severity).
    ``paired=True`` shares one random draw (noise, crop, frost texture) per sample and shift
    across severities, so the comparison between severities isolates the severity
    parameters (common random numbers) instead of adding the draw-to-draw variation."""
    res = Resources(opts.runtime, device)
    res.build = dataclasses.replace(res.build, paired_severities=paired)
    clean: dict[tuple, tuple[torch.Tensor, np.ndarray]] = {}
    rows = []
    cells = image_shift_cells(opts, shifts)
    for cell in tqdm(cells, desc="similarity", disable=opts.runtime.quiet, leave=False):
        ds, rm = res.dataset(cell), res.model(cell)
        limit = opts.protocol.limit
        ids = np.arange(ds.n_images if limit is None else min(limit, ds.n_images))
        key = (cell.suite, cell.spec.dataset, cell.model, cell.weights_id)
        if key not in clean:
            images, bad = resized_images(ds, ids, CLEAN, 0, rm, res.build)
            clean[key] = (encode_image_array(rm, images), bad)
        ref, ref_bad = clean[key]
        images, bad = resized_images(ds, ids, cell.spec.shift, cell.spec.severity, rm, res.build)
        keep = torch.from_numpy(~(bad | ref_bad))
        cos = (ref * encode_image_array(rm, images)).sum(dim=1)[keep]
        rows.append({"suite": cell.suite, "dataset": cell.spec.dataset, "model": cell.model,
                     "shift": cell.spec.shift, "severity": cell.spec.severity,
                     "n_images": int(keep.sum()), "paired": paired, "cosine": float(cos.mean())})
    return pd.DataFrame(rows, columns=COLUMNS)


def rises(values: list[float]) -> list[int]:
    """The positions k where the step from values[k] to values[k + 1] does not lower it."""
    return [k for k, (a, b) in enumerate(zip(values[:-1], values[1:], strict=True)) if b >= a]


def monotone(values: list[float]) -> bool:
    """True when every step to a higher severity lowers the value (strictly)."""
    return not rises(values)


def wide_table(df: pd.DataFrame) -> pd.DataFrame:
    """Shifts (rows, in first-seen order) x severities (columns) of the mean cosine."""
    wide = df.pivot(index="shift", columns="severity", values="cosine")
    return wide.reindex(list(dict.fromkeys(df["shift"])))


def markdown(df: pd.DataFrame) -> str:
    """Per (suite, dataset, model): shifts x severities of the mean cosine similarity, and
    whether it falls at every step."""
    parts = []
    for (suite, dataset, model, paired), g in df.groupby(["suite", "dataset", "model", "paired"],
                                                        sort=False):
        wide = wide_table(g)
        sevs = list(wide.columns)
        n = int(g["n_images"].min())
        draws = ("one random draw per image and shift, shared by all severities" if paired
                 else "the benchmark's images, seeded per image, shift and severity")
        parts.append(f"## {suite} · {dataset} · {model}: mean cosine similarity of clean vs "
                     f"shifted query embeddings ({n} images; {draws})\n")
        parts.append("| shift | " + " | ".join(str(s) for s in sevs) + " | falls at every step |")
        parts.append("|---|" + "---:|" * len(sevs) + "---|")
        falls = 0
        for shift, values in wide.iterrows():
            vals = list(values)
            falls += monotone(vals)
            parts.append(f"| {shift} | " + " | ".join(f"{v:.4f}" for v in vals)
                         + f" | {'yes' if monotone(vals) else '**no**'} |")
        means = list(wide.mean(axis=0))
        parts.append("| mean | " + " | ".join(f"{v:.4f}" for v in means)
                     + f" | {'yes' if monotone(means) else '**no**'} |")
        parts.append("")
        parts.append(f"- {falls} of {len(wide)} shifts fall at every severity step.")
        parts.append("")
    return "\n".join(parts).strip() + "\n"
