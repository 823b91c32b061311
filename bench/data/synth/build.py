"""Split builders: sample specs and captions (sequentially, enforcing uniqueness), then
render and save the images, and merge the splits into the real annotation formats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.synth import draw, pedes, scenes
from bench.data.synth._store import progress
from bench.data.synth.pedes import render_shot, sample_person, sample_shot
from bench.data.synth.pedes_spec import PedesShot, Person
from bench.data.synth.pedes_text import pedes_captions
from bench.data.synth.scene_spec import SceneSpec
from bench.data.synth.scenes import render_scene, sample_scene, scene_captions

SCENES_VERSION = scenes.GENERATOR_VERSION
PEDES_VERSIONS = pedes.GENERATOR_VERSION
SPLIT_CODES = {"train": 1, "val": 2, "test": 3, "test5k": 4}
STYLE_CODES = {"a": 1, "b": 2}


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, as the Karpathy and CUHK files store them."""
    return re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower())


@dataclass(frozen=True)
class ScenesConfig:
    """Sizes and seed of mini-scenes; non-default values get their own folder."""

    n_train: int = 20_000
    n_val: int = 1_000
    n_test: int = 1_000  # the Flickr-sized test split (Flickr30K's 1K test)
    n_test5k: int = 5_000  # the COCO-sized test split (COCO's Karpathy 5K test)
    captions_per_image: int = 5
    image_size: int = 224
    train_format: str = "jpg"  # q95, no chroma subsampling; val/test are always PNG
    seed: int = 0

    def count(self, split: str) -> int:
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test,
                "test5k": self.n_test5k}[split]


def _taken_keys(cfg: ScenesConfig, split: str) -> set[tuple]:
    """Attribute combinations a split must not reuse: train and val avoid the 1K test split;
    the 5K test split avoids train, val and the 1K test (so it is unseen and disjoint)."""
    if split == "test":
        return set()
    taken = {s.key() for s, _ in sample_scene_split(cfg, "test")}
    if split == "test5k":
        for other in ("train", "val"):
            taken |= {s.key() for s, _ in sample_scene_split(cfg, other)}
    return taken


def sample_scene_split(cfg: ScenesConfig, split: str) -> list[tuple[SceneSpec, list[str]]]:
    """The specs and captions of a split, a pure function of (cfg, split).

    Scenes are re-drawn when their attribute combination repeats, or when a caption
    would repeat another image's in the split. Train and val also avoid every test
    combination, so the test scenes are unseen; the COCO-sized ``test5k`` split avoids
    train, val and test (`_taken_keys`).
    """
    rng = np.random.default_rng([cfg.seed, SPLIT_CODES[split]])
    taken = _taken_keys(cfg, split)
    used: set[str] = set()
    items: list[tuple[SceneSpec, list[str]]] = []
    while len(items) < cfg.count(split):
        spec = sample_scene(rng)
        if spec.key() in taken:
            continue
        caps = scene_captions(spec, rng, cfg.captions_per_image, avoid=used)
        if len(caps) < cfg.captions_per_image:
            continue
        taken.add(spec.key())
        used.update(caps)
        items.append((spec, caps))
    return items


def build_scenes_split(cfg: ScenesConfig, split: str, out: Path, show: bool) -> list[dict]:
    """Write a split's images into ``out``; return its Karpathy records (no ids yet)."""
    ext = "jpg" if split == "train" and cfg.train_format == "jpg" else "png"
    records = []
    items = sample_scene_split(cfg, split)
    for i, (spec, caps) in enumerate(progress(items, len(items), f"mini-scenes {split}", show)):
        name = f"{split}_{i:06d}.{ext}"
        draw.save_image(render_scene(spec, cfg.image_size), out / name)
        records.append({"filepath": split, "filename": name, "split": split,
                        "sentences": [{"raw": c, "tokens": tokens(c)} for c in caps],
                        "bench_scene": spec.to_dict()})
    return records


def merge_karpathy(by_split: dict[str, list[dict]]) -> dict:
    """One Karpathy JSON from the complete splits, with running imgid / sentid."""
    images, sentid = [], 0
    for split in SPLIT_CODES:
        for rec in by_split.get(split, []):
            n = len(rec["sentences"])
            sents = [{**s, "imgid": len(images), "sentid": sentid + k}
                     for k, s in enumerate(rec["sentences"])]
            images.append({**rec, "imgid": len(images), "sentences": sents,
                           "sentids": list(range(sentid, sentid + n))})
            sentid += n
    return {"dataset": "mini-scenes", "bench_generator": SCENES_VERSION, "images": images}


@dataclass(frozen=True)
class PedesConfig:
    """Identities per split and seed of one mini-pedes style."""

    ids_train: int = 2_000
    ids_val: int = 200
    ids_test: int = 220
    images_per_id: tuple[int, int] = (3, 6)  # inclusive range
    two_captions: float = 0.6  # probability that an image gets a second description
    seed: int = 0

    def count(self, split: str) -> int:
        return {"train": self.ids_train, "val": self.ids_val, "test": self.ids_test}[split]

    def first_id(self, split: str, style: str) -> int:
        # CUHK-PEDES ids start at 1 (IRRA subtracts 1), ICFG-PEDES ids at 0; ids run on
        # across splits in a fixed order so they never depend on which split came first.
        base = 1 if style == "a" else 0
        for s in ("train", "val", "test"):
            if s == split:
                return base
            base += self.count(s)
        raise KeyError(split)


def sample_pedes_split(cfg: PedesConfig, style: str,
                       split: str) -> list[tuple[int, PedesShot, list[str]]]:
    """(person id, shot, descriptions) per image; identities unique in what captions say."""
    rng = np.random.default_rng([cfg.seed, STYLE_CODES[style], SPLIT_CODES[split]])
    keys: set[tuple] = set()
    used: set[str] = set()
    out = []
    pid = cfg.first_id(split, style)
    while len(keys) < cfg.count(split):
        person: Person = sample_person(rng, style)
        if person.key() in keys:
            continue
        keys.add(person.key())
        lo, hi = cfg.images_per_id
        for _ in range(int(rng.integers(lo, hi + 1))):
            shot = sample_shot(person, rng, style)
            n = 2 if rng.random() < cfg.two_captions else 1
            caps = pedes_captions(shot, rng, n, avoid=used)
            used.update(caps)
            out.append((pid, shot, caps))
        pid += 1
    return out


def build_pedes_split(cfg: PedesConfig, style: str, split: str, out: Path,
                      show: bool) -> list[dict]:
    """Write a split's images; return CUHK-PEDES (style a) or ICFG-PEDES (style b) records."""
    items = sample_pedes_split(cfg, style, split)
    records = []
    counts: dict[int, int] = {}
    bar = progress(items, len(items), f"mini-pedes-{style} {split}", show)
    for pid, shot, caps in bar:
        k = counts[pid] = counts.get(pid, 0) + 1
        # ICFG keeps one folder per person; CUHK-PEDES files sit side by side.
        rel = f"{pid:05d}/{pid:05d}_{k:02d}.png" if style == "b" else f"{pid:05d}_{k:02d}.png"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        draw.save_image(render_shot(shot), out / rel)
        records.append({"split": split, "captions": caps, "file_path": f"{split}/{rel}",
                        "processed_tokens": [tokens(c) for c in caps], "id": pid,
                        "bench_generator": PEDES_VERSIONS[style], "bench_shot": shot.to_dict()})
    return records


def merge_pedes(by_split: dict[str, list[dict]]) -> list[dict]:
    return [rec for split in ("train", "val", "test") for rec in by_split.get(split, [])]
