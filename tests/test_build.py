"""`bench build`: shifted query sets on disk, resumable; `run` reads them identically."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers_run import PLUGINS, cli

from bench.data.synth import load_mini_scenes
from bench.engine.store import ResultStore

TINY = PLUGINS / "tiny_suite.py"


@pytest.fixture()
def tiny_root(tmp_path, monkeypatch):
    """12 mini-scenes test images in Karpathy format, one of them unreadable."""
    source = load_mini_scenes("test")
    root = tmp_path / "tiny"
    (root / "images" / "test").mkdir(parents=True)
    images = []
    for i in range(12):
        src = source.image_paths[i]
        shutil.copy(src, root / "images" / "test" / src.name)
        caps = [source.captions[c] for c in range(source.n_captions)
                if source.caption_image[c] == i]
        images.append({"filepath": "test", "filename": src.name, "split": "test", "imgid": i,
                       "sentences": [{"raw": c, "tokens": c.split()} for c in caps]})
    (root / "images" / "test" / images[5]["filename"]).write_bytes(b"not an image")
    (root / "dataset_tiny.json").write_text(json.dumps({"dataset": "tiny", "images": images}))
    monkeypatch.setenv("BENCH_TINY_ROOT", str(root))
    return root


def test_build_writes_resumes_and_names_unreadable_files(tiny_root):
    code, out, _ = cli("build", "--suite", "tiny-c", "--plugin", TINY, "--workers", "1")
    assert code == 0
    assert "cannot read" in out and tiny_root.name in out  # the bad file is named
    built = tiny_root / "built" / "tiny-test"
    assert len(list((built / "images" / "gaussian_noise" / "5").rglob("*.png"))) == 11
    assert len(list((built / "images" / "fog" / "5").rglob("*.png"))) == 11
    captions = json.loads((built / "captions" / "ci" / "7.json").read_text())
    assert len(captions) == 60
    code, out, _ = cli("build", "--suite", "tiny-c", "--plugin", TINY, "--workers", "1")
    assert "0 image shards written" in out and "already built" in out


def test_run_scores_a_built_set_exactly_like_on_the_fly(tiny_root, tmp_path):
    args = ("run", "--method", "source", "--suite", "tiny-c", "--plugin", TINY, "--pretrained",
            "random", "--workers", "1", "--no-cache", "--quiet")
    # exit 3: the t2i cell fails (its gallery holds the unreadable image), on both paths
    assert cli(*args, "--out", tmp_path / "fly")[0] == 3
    assert cli("build", "--suite", "tiny-c", "--plugin", TINY, "--workers", "1")[0] == 0
    assert cli(*args, "--out", tmp_path / "built")[0] == 3
    cols = ["cell_id", "r1", "r5", "r10", "map", "n_queries"]
    fly = ResultStore(tmp_path / "fly").read()[cols].sort_values("cell_id").reset_index(drop=True)
    built = ResultStore(tmp_path / "built").read()[cols].sort_values("cell_id")
    assert fly.equals(built.reset_index(drop=True))
    assert (fly[fly.n_queries < 60].n_queries == 11).all()  # the unreadable query left out
