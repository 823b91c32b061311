"""`python -m bench build`: materialise a suite's shifted query sets once."""

from __future__ import annotations

import argparse
import time

from bench.commands import inputs
from bench.commands.common import add_plugin_argument, add_selection_arguments, severity_arg

NAME = "build"
HELP = "write a suite's shifted queries to disk once (images and captions), resumable"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, type=inputs.text, help="e.g. coco-c, flickr-c, mini-c")
    p.add_argument("--data-root", type=inputs.existing_dir,
                   help="folder with the real datasets (docs/real-data.md)")
    p.add_argument("--severity", default=None, type=inputs.severity,
                   help="1,3,5 or all (default: each maximum)")
    p.add_argument("--out", type=inputs.out_dir, default=None, metavar="DIR",
                   help="write here (for read-only data folders; then `run --built DIR`); "
                        "default: built/ beside the annotation file")
    p.add_argument("--workers", type=inputs.count, default=None,
                   help="processes (default: all cores)")
    p.add_argument("--quiet", action="store_true")
    add_selection_arguments(p)
    add_plugin_argument(p)


def shifts_by_dataset(suite, severities, shifts: list[str] | None = None,
                      direction: str | None = None) -> dict[str, dict[str, set]]:
    """{dataset: {"image": {(shift, sev)}, "text": {(shift, sev)}}} over the suite's cells
    (those of `shifts` and `direction` only, when given: the same filter as `run`)."""
    from bench.api.registry import SHIFTS

    out: dict[str, dict[str, set]] = {}
    for cell in suite.cells(severities):
        if (shifts is not None and cell.shift not in shifts) or (
                direction is not None and cell.direction != direction):
            continue
        for seg in cell.stream_segments():
            if seg.shift == "clean":
                continue
            # a pair shift of composed queries builds its image part and its text part
            for shift, level in SHIFTS.get(seg.shift).parts or ((seg.shift, seg.severity),):
                kind = "image" if SHIFTS.get(shift).modality == "image" else "text"
                out.setdefault(cell.dataset, {"image": set(), "text": set()})[kind].add(
                    (shift, level))
    return out


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import BenchError
    from bench.api.registry import SUITES, load_plugins
    from bench.engine.parallel import default_workers
    from bench.engine.prebuild import build_captions, build_images
    from bench.engine.prebuilt import built_root
    from bench.suites.base import SuiteContext

    load_plugins(args.plugin)
    suite = SUITES.get(args.suite)
    ctx = SuiteContext(data_root=args.data_root)
    reason = suite.missing(ctx)
    if reason:
        raise BenchError(f"suite {suite.name}: {reason}")
    workers = args.workers or default_workers()
    severities = severity_arg(args.severity) if args.severity else None
    start = time.perf_counter()
    selected = shifts_by_dataset(suite, severities, args.shift, args.direction)
    if not selected and (args.shift or args.direction):
        raise BenchError(f"suite {suite.name}: no cell matches --shift/--direction")
    if not selected:
        raise BenchError(f"suite {suite.name} has no shifted queries to build (clean cells "
                         "only)", "`run` reads its clean queries directly")
    for key, kinds in selected.items():
        ds = suite.load(key, ctx)
        if built_root(ds, args.out) is None:
            raise BenchError(f"dataset {key} has no annotation folder to build next to",
                             "pass --out DIR")
        images = build_images(ds, sorted(kinds["image"]), workers, args.quiet,
                              plugins=tuple(args.plugin), out=args.out)
        texts = build_captions(ds, sorted(kinds["text"]), workers, args.quiet,
                               plugins=tuple(args.plugin), out=args.out)
        print(f"{key}: {images.shards_done} image shards written ({images.images} images), "
              f"{images.shards_skipped} already built, {len(images.failed)} unreadable; "
              f"{texts.caption_sets} caption sets, {len(texts.unavailable)} unavailable "
              f"-> {built_root(ds, args.out)}")
    print(f"built in {time.perf_counter() - start:.1f}s")
    return 0
