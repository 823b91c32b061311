"""Generated stand-ins for the real datasets, written in the real on-disk formats.

* mini-scenes: a Karpathy-split JSON (``dataset_mini_scenes.json``) + ``images/<split>/``,
  read by ``load_karpathy`` exactly like COCO.
* mini-cir: composed queries on mini-scenes in CIRR's layout (``cirr/captions/``,
  ``cirr/image_splits/`` + ``dev/``), read by ``load_cirr`` exactly like CIRR.
* mini-pedes style a: CUHK-PEDES layout (``reid_raw.json`` + ``imgs/``); style b, the
  target domain: ICFG-PEDES layout (``ICFG-PEDES.json`` + ``imgs/``).

Each dataset lives in ``<data_home>/<generator version>[-<config hash>]``, so a new
generator or other sizes never reuse old files. Splits are generated on demand (a
train split can be added later), each one atomically; the same call always writes
the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from bench.api.errors import DataError
from bench.data.dataset import RetrievalDataset
from bench.data.karpathy import load_karpathy
from bench.data.pedes import load_cuhk_pedes, load_icfg_pedes
from bench.data.synth._store import (
    clean_stale,
    dump_json,
    read_records,
    split_done,
    write_annotation,
    write_split,
)
from bench.data.synth.build import (
    PEDES_VERSIONS,
    SCENES_VERSION,
    PedesConfig,
    ScenesConfig,
    build_pedes_split,
    build_scenes_split,
    merge_karpathy,
    merge_pedes,
)
from bench.data.synth.composed import CirConfig
from bench.data.synth.scenes import render_scene, sample_scene, scene_captions
from bench.files import data_home

__all__ = [
    "CirConfig", "ensure_mini_cir", "load_mini_cir",
    "DEFAULT_PEDES", "PEDES_VERSIONS", "SCENES_VERSION", "PedesConfig", "ScenesConfig",
    "ensure_mini_pedes", "ensure_mini_scenes", "load_mini_pedes", "load_mini_scenes",
    "render_scene", "sample_scene", "scene_captions",
]

SCENES_JSON = "dataset_mini_scenes.json"
SCENES_SPLITS = ("train", "val", "test", "test5k")  # test: 1K (Flickr-sized); test5k: COCO-sized
PEDES_JSON = {"a": "reid_raw.json", "b": "ICFG-PEDES.json"}
PEDES_SPLITS = {"a": ("train", "val", "test"), "b": ("train", "test")}
# Style b is only ever a test domain: its train split stays small.
DEFAULT_PEDES = {"a": PedesConfig(), "b": PedesConfig(ids_train=300, ids_val=0)}
MERGED = "_bench_splits.json"  # which complete splits the annotation file holds


def ensure_mini_scenes(splits: Iterable[str] = ("test",), root: str | Path | None = None,
                       config: ScenesConfig | None = None, progress: bool = True) -> Path:
    """The mini-scenes folder with at least ``splits`` written; generates what is missing."""
    cfg = config or ScenesConfig()
    wanted = _check_splits(splits, SCENES_SPLITS, "mini-scenes")
    folder = _folder(root, SCENES_VERSION, cfg, ScenesConfig())
    for split in wanted:
        write_split(folder, "images", split,
                    lambda tmp, s=split: build_scenes_split(cfg, s, tmp, progress))
    _merge(folder, "images", SCENES_JSON, SCENES_SPLITS,
           lambda by_split: dump_json(merge_karpathy(by_split)))
    return folder


def ensure_mini_pedes(style: str = "a", splits: Iterable[str] = ("test",),
                      root: str | Path | None = None, config: PedesConfig | None = None,
                      progress: bool = True) -> Path:
    """The mini-pedes folder of ``style`` ("a" or "b") with at least ``splits`` written."""
    if style not in PEDES_JSON:
        raise DataError(f"unknown mini-pedes style '{style}'", "one of a, b")
    cfg = config or DEFAULT_PEDES[style]
    wanted = _check_splits(splits, PEDES_SPLITS[style], f"mini-pedes-{style}")
    folder = _folder(root, PEDES_VERSIONS[style], cfg, DEFAULT_PEDES[style])
    for split in wanted:
        write_split(folder, "imgs", split,
                    lambda tmp, s=split: build_pedes_split(cfg, style, s, tmp, progress))
    _merge(folder, "imgs", PEDES_JSON[style], PEDES_SPLITS[style],
           lambda by_split: dump_json(merge_pedes(by_split)))
    return folder


def load_mini_scenes(split: str = "test", root: str | Path | None = None,
                     config: ScenesConfig | None = None,
                     progress: bool = True) -> RetrievalDataset:
    """A mini-scenes split, generated if needed, read by the Karpathy loader."""
    cfg = config or ScenesConfig()
    folder = ensure_mini_scenes((split,), root, cfg, progress)
    return load_karpathy(folder / SCENES_JSON, folder / "images", split,
                         captions_per_image=cfg.captions_per_image, name="mini-scenes")


def load_mini_pedes(style: str = "a", split: str = "test", root: str | Path | None = None,
                    config: PedesConfig | None = None, progress: bool = True) -> RetrievalDataset:
    """A mini-pedes split, generated if needed, read by the CUHK-PEDES / ICFG-PEDES loader."""
    folder = ensure_mini_pedes(style, (split,), root, config, progress)
    loader = load_cuhk_pedes if style == "a" else load_icfg_pedes
    return loader(folder, split, name=f"mini-pedes-{style}")


def _check_splits(splits: Iterable[str], known: tuple[str, ...], name: str) -> list[str]:
    wanted = [splits] if isinstance(splits, str) else list(splits)
    for s in wanted:
        if s not in known:
            raise DataError(f"{name} has no split '{s}'", f"one of {', '.join(known)}")
    return wanted


def _folder(root: str | Path | None, version: str, cfg: object, default: object) -> Path:
    name = version
    if cfg != default:  # other sizes or seed: never mix them with the default files
        digest = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode()).hexdigest()
        name = f"{version}-{digest[:10]}"
    folder = Path(root).expanduser() if root is not None else data_home()
    folder = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)
    return folder


def _merge(folder: Path, image_dir: str, annotation: str, order: tuple[str, ...],
           merge: Callable[[dict[str, list[dict]]], bytes]) -> None:
    """Rebuild the annotation file from the complete splits, unless it is up to date."""
    with _locked(folder / ".lock"):
        done = [s for s in order if split_done(folder / image_dir / s)]
        stamp = folder / MERGED
        if (folder / annotation).is_file() and stamp.is_file() \
                and json.loads(stamp.read_text()) == done:
            return
        by_split = {s: read_records(folder / image_dir / s) for s in done}
        write_annotation(folder / annotation, merge(by_split))
        write_annotation(stamp, dump_json(done))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock, so that two generators never interleave their merges."""
    try:
        import fcntl
    except ImportError:  # not POSIX: merges are still atomic, just not serialised
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_mini_cir(root: str | Path | None = None, config: CirConfig | None = None,
                    progress: bool = True) -> Path:
    """The mini-cir folder (CIRR's layout, split ``val``), generated if needed."""
    from bench.data.synth import composed

    cfg = config or CirConfig()
    folder = _folder(root, composed.GENERATOR_VERSION, cfg, CirConfig())
    images = write_split(folder, "", composed.IMAGE_DIR,
                         lambda tmp: composed.build_cir(cfg, tmp, progress))
    captions = folder / "cirr" / "captions" / "cap.rc2.val.json"
    with _locked(folder / ".lock"):
        if not captions.is_file():
            records = read_records(images)
            for sub in ("captions", "image_splits"):
                (folder / "cirr" / sub).mkdir(parents=True, exist_ok=True)
            write_annotation(folder / "cirr" / "image_splits" / "split.rc2.val.json",
                             dump_json(composed.cir_split_map(records)))
            write_annotation(captions, dump_json(records))
    return folder


def load_mini_cir(root: str | Path | None = None, config: CirConfig | None = None,
                  progress: bool = True) -> RetrievalDataset:
    """mini-cir, generated if needed, read by the CIRR loader."""
    from bench.data.composed import load_cirr
    from bench.data.synth import composed

    folder = ensure_mini_cir(root, config, progress)
    return load_cirr(folder, "val", name="mini-cir",
                     meta={"generator": composed.GENERATOR_VERSION})
