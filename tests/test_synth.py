"""The generators: determinism, real-format output, caption quality, domains, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bench.data.synth as synth
from bench.api.errors import DataError
from bench.data.synth import (
    PedesConfig,
    ScenesConfig,
    ensure_mini_pedes,
    ensure_mini_scenes,
    load_mini_pedes,
    load_mini_scenes,
)
from bench.data.synth.draw import COLOURS
from bench.data.synth.scene_text import COLOUR_WORDS
from bench.data.synth.scenes import SceneSpec

SCENES = ScenesConfig(n_train=16, n_val=8, n_test=40)
PEDES = PedesConfig(ids_train=6, ids_val=3, ids_test=24)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory) -> Path:
    return ensure_mini_scenes(("test",), tmp_path_factory.mktemp("s1"), SCENES, progress=False)


@pytest.fixture(scope="module")
def pedes_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("p1")
    return {s: ensure_mini_pedes(s, ("test",), root, PEDES, progress=False) for s in "ab"}


def test_scenes_are_deterministic(scenes_dir: Path, tmp_path: Path) -> None:
    again = ensure_mini_scenes(("test",), tmp_path, SCENES, progress=False)
    assert again.name == scenes_dir.name and again.name.startswith(synth.SCENES_VERSION + "-")
    assert _files(again) == _files(scenes_dir)


def test_scenes_read_by_the_karpathy_loader(scenes_dir: Path) -> None:
    ds = load_mini_scenes("test", scenes_dir.parent, SCENES, progress=False)
    assert ds.kind == "captions" and ds.n_images == 40 and ds.n_captions == 200
    assert np.bincount(ds.caption_image).tolist() == [5] * 40
    assert len(set(ds.captions)) == ds.n_captions  # no caption shared by two images
    assert ds.meta["generator"] == synth.SCENES_VERSION
    img = ds.load_image(0)
    assert img.shape == (224, 224, 3) and img.std() > 10
    words = [len(c.split()) for c in ds.captions]
    assert 8 <= min(words) and max(words) <= 25


def _scene_specs(folder: Path) -> list[SceneSpec]:
    data = json.loads((folder / "dataset_mini_scenes.json").read_text())
    assert data["bench_generator"] == synth.SCENES_VERSION
    return [SceneSpec.from_dict(r["bench_scene"]) for r in data["images"]]


def test_scene_captions_name_what_is_drawn(scenes_dir: Path) -> None:
    ds = load_mini_scenes("test", scenes_dir.parent, SCENES, progress=False)
    specs = _scene_specs(scenes_dir)
    assert len({s.key() for s in specs}) == len(specs)  # attribute combinations are unique
    checked = 0
    for i, spec in enumerate(specs):
        for c in np.nonzero(ds.caption_image == i)[0]:
            text = ds.captions[c].lower()
            for obj in spec.objects:  # every caption names every object's colour
                assert any(w in text for w in COLOUR_WORDS.get(obj.colour, (obj.colour,))), text
        img = ds.load_image(i).astype(np.float32)
        for obj in spec.objects:
            if obj.pattern != "plain" or obj.shape == "ring":
                continue
            pixel = img[int(obj.y * 224), int(obj.x * 224)]
            nearest = min(COLOURS, key=lambda n: np.linalg.norm(pixel - np.array(COLOURS[n])))
            assert nearest == obj.colour, (i, obj, pixel)
            checked += 1
    assert checked >= 10


def test_scene_splits_added_later_and_env_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "home"))
    first = load_mini_scenes("test", config=SCENES, progress=False)
    folder = ensure_mini_scenes(("train", "val"), config=SCENES, progress=False)
    assert folder.parent == tmp_path / "home"
    test_again = load_mini_scenes("test", config=SCENES, progress=False)
    assert test_again.captions == first.captions
    assert test_again.fingerprint() == first.fingerprint()
    train = load_mini_scenes("train", config=SCENES, progress=False)
    assert train.n_images == 16 and train.image_paths[0].suffix == ".jpg"
    test_keys = {s.key() for s in _scene_specs(folder)[-40:]}
    assert not test_keys & {s.key() for s in _scene_specs(folder)[:24]}  # unseen in train/val
    with pytest.raises(DataError, match="no split 'dev'"):
        ensure_mini_scenes(("dev",), config=SCENES)


def test_stale_temp_folder_is_cleaned(tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    stale.mkdir()
    # A crashed writer (pid 999999999 does not exist) left a half split behind.
    ensure_mini_scenes(("val",), stale, SCENES, progress=False)
    folder = next(stale.iterdir())
    leftover = folder / ".tmp-test-999999999-abc"
    leftover.mkdir()
    (leftover / "junk.png").write_bytes(b"half")
    ds = load_mini_scenes("test", stale, SCENES, progress=False)
    assert not leftover.exists() and ds.n_images == 40


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def crash(cfg, split, out, show):
        (out / "partial.png").write_bytes(b"x")
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth, "build_scenes_split", crash)
    with pytest.raises(RuntimeError):
        ensure_mini_scenes(("test",), tmp_path, SCENES, progress=False)
    folder = next(tmp_path.iterdir())
    assert not (folder / "images" / "test").exists()
    assert not list(folder.glob(".tmp-*"))


def test_pedes_deterministic_and_in_real_formats(pedes_dirs: dict[str, Path],
                                                 tmp_path: Path) -> None:
    assert (pedes_dirs["a"] / "reid_raw.json").is_file()
    assert (pedes_dirs["b"] / "ICFG-PEDES.json").is_file()
    again = ensure_mini_pedes("b", ("test",), tmp_path, PEDES, progress=False)
    assert _files(again) == _files(pedes_dirs["b"])
    for style in "ab":
        ds = load_mini_pedes(style, "test", pedes_dirs[style].parent, PEDES, progress=False)
        assert ds.kind == "reid" and ds.load_image(0).shape == (256, 128, 3)
        per_id = np.bincount(ds.person_ids - ds.person_ids.min())
        assert len(set(ds.person_ids.tolist())) == 24 and 3 <= per_id.min() and per_id.max() <= 6
        assert len(set(ds.captions)) >= 0.95 * ds.n_captions
        assert 1.0 < ds.n_captions / ds.n_images <= 2.0
    with pytest.raises(DataError, match="no split 'val'"):
        ensure_mini_pedes("b", ("val",), tmp_path, PEDES)


def test_pedes_ids_match_identities(pedes_dirs: dict[str, Path]) -> None:
    records = json.loads((pedes_dirs["a"] / "reid_raw.json").read_text())
    person_of: dict[int, dict] = {}
    for rec in records:
        person = rec["bench_shot"]["person"]
        assert person_of.setdefault(rec["id"], person) == person  # one identity per id
        assert rec["bench_generator"] == synth.PEDES_VERSIONS["a"]
    described = [{k: v for k, v in p.items() if k not in ("build", "skin")}
                 for p in person_of.values()]
    assert len({tuple(sorted(d.items())) for d in described}) == len(described)
    # CUHK-PEDES ids are 1-based and run on over train (6) and val (3) into test.
    assert sorted(person_of) == list(range(10, 10 + 24))
    colours = [p["upper_colour"] for p in person_of.values()]
    assert max(colours.count(c) for c in set(colours)) >= 2  # attributes are shared


def test_style_b_is_another_domain(pedes_dirs: dict[str, Path]) -> None:
    a, b = (load_mini_pedes(s, "test", pedes_dirs[s].parent, PEDES, progress=False) for s in "ab")
    mean_a = np.mean([a.load_image(i).reshape(-1, 3).mean(0) for i in range(0, a.n_images, 4)], 0)
    mean_b = np.mean([b.load_image(i).reshape(-1, 3).mean(0) for i in range(0, b.n_images, 4)], 0)
    assert mean_b.mean() < mean_a.mean() - 5, (mean_a, mean_b)  # dimmer indoor light
    words_a = {w for c in a.captions for w in c.lower().replace(".", " ").split()}
    words_b = {w for c in b.captions for w in c.lower().replace(".", " ").split()}
    b_only = {"pants", "slacks", "rucksack", "sneakers", "pullover", "overcoat", "purse", "top"}
    assert not words_a & b_only and words_b & b_only  # style b has its own nouns...
    length = {s: np.mean([len(c.split()) for c in d.captions]) for s, d in (("a", a), ("b", b))}
    assert length["b"] > length["a"] + 2, length  # ...and ICFG-like descriptions run longer
    assert len(words_a & words_b) > 0.3 * len(words_a)  # colour words and much else shared


def test_coco_sized_split_is_deterministic_unseen_and_disjoint(tmp_path: Path) -> None:
    """test5k (5,000 scenes at full size; 30 here) avoids train, val and the 1K test split."""
    from bench.data.synth.build import sample_scene_split

    cfg = ScenesConfig(n_train=16, n_val=8, n_test=40, n_test5k=30)
    ds = load_mini_scenes("test5k", tmp_path / "a", cfg, progress=False)
    assert ds.n_images == 30 and ds.n_captions == 150 and len(set(ds.captions)) == 150
    assert ds.image_paths[0].name == "test5k_000000.png"
    again = ensure_mini_scenes(("test5k",), tmp_path / "b", cfg, progress=False)
    assert _files(again / "images" / "test5k") == _files(ds.image_paths[0].parent)
    keys = {s.key() for s, _ in sample_scene_split(cfg, "test5k")}
    for other in ("train", "val", "test"):
        assert not keys & {s.key() for s, _ in sample_scene_split(cfg, other)}
    test = load_mini_scenes("test", tmp_path / "a", cfg, progress=False)  # same folder
    assert test.n_images == 40 and not set(test.captions) & set(ds.captions)
