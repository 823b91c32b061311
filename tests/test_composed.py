"""Composed image retrieval: the metric on hand-computed tensors, the packed query tensor and
its composition, the mini-cir generator's unique targets, the FashionIQ / CIRR loaders on
fixtures, and a smoke-sized run of source and tent on mini-cir-c."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_run import cli

from bench.api.errors import DataError
from bench.data.composed import fashioniq_caption, load_cirr, load_fashioniq
from bench.data.synth.composed import CirConfig, gallery_of, sample_cir
from bench.engine.metrics import COMPOSED_KS, RankAccumulator, subset_ranks
from bench.models.composed import compose, pack_composed, token_tile, unpack_composed
from bench.shifts import composed_parts, pair_shift
from bench.studies.inprocess import torch_threads

# ---- the metric -------------------------------------------------------------------------


def test_reference_removed_and_subset_recall_by_hand():
    # gallery of 6: query 0's reference is item 0 (scores highest), its target item 1; items
    # 2 and 4 score above the target; its subset is {0, 1, 2, 3}
    rows = torch.tensor([[0.9, 0.5, 0.7, 0.1, 0.6, 0.0],
                         [0.2, 0.8, 0.1, 0.3, 0.0, 0.9]])
    relevant = [np.array([1]), np.array([5])]
    kept = RankAccumulator(ks=COMPOSED_KS)
    kept.add(rows, relevant)
    assert kept.best_ranks().tolist() == [4, 1]  # 0, 2, 4 above the target; nothing above 5
    acc = RankAccumulator(ks=COMPOSED_KS)
    acc.add(rows, relevant, excluded=[np.array([0]), np.array([3])],
            subsets=[np.array([0, 1, 2, 3]), np.array([3, 4, 5, 1])])
    assert acc.best_ranks().tolist() == [3, 1]  # the reference no longer counts
    m = acc.summary()
    assert (m["r1"], m["r5"], m["r10"], m["r50"]) == (50.0, 100.0, 100.0, 100.0)
    assert m["r_mean"] == pytest.approx((50 + 100 + 100) / 3)  # R@1/5/10, as every table
    # subset: query 0 -> only item 2 above among {1, 2, 3} (0 excluded) = rank 2; query 1 -> 1
    assert acc.subset_best == [2, 1]
    assert acc.subset_summary() == {"r1": 50.0, "r2": 100.0, "r3": 100.0}


def test_recall_at_50_counts_a_rank_of_50_and_not_51():
    rows = torch.zeros(2, 60)
    rows[0, :49] = 1.0  # target 59 of query 0: 49 items above -> rank 50
    rows[1, :50] = 1.0  # query 1: 50 above -> rank 51
    acc = RankAccumulator(ks=COMPOSED_KS)
    acc.add(rows, [np.array([59]), np.array([59])])
    assert acc.best_ranks().tolist() == [50, 51]
    assert acc.summary()["r50"] == 50.0 and acc.summary()["r10"] == 0.0


def test_subset_rank_ties_are_optimistic():
    rows = torch.tensor([[0.5, 0.5, 0.5]])
    assert subset_ranks(rows, [np.array([1])], [np.array([0, 1, 2])]) == [1]


# ---- the query tensor and the composition -----------------------------------------------


def test_compose_is_the_normalised_sum_of_normalised_embeddings():
    image = torch.tensor([[3.0, 4.0]])  # -> (0.6, 0.8)
    text = torch.tensor([[2.0, 0.0]])  # -> (1, 0)
    out = compose(image, text)
    norm = (1.6**2 + 0.8**2) ** 0.5
    assert out.tolist()[0] == pytest.approx([1.6 / norm, 0.8 / norm])


def test_pack_unpack_round_trip_and_tile():
    assert token_tile(64, 64, 64) == 8 and token_tile(224, 224, 77) == 14
    images = torch.randn(3, 3, 64, 64)
    tokens = torch.randint(0, 49408, (3, 64))
    packed = pack_composed(images, tokens)
    assert packed.shape == (3, 4, 64, 64) and packed.is_floating_point()
    back_images, back_tokens = unpack_composed(packed, 64)
    assert torch.equal(back_images, images) and torch.equal(back_tokens, tokens)
    # indexing and concatenation (what methods do with batches) keep the queries intact
    both = torch.cat([packed[[2]], packed[[0]]])
    assert torch.equal(unpack_composed(both, 64)[1], tokens[[2, 0]])


def test_deyo_patch_shuffle_moves_the_image_and_keeps_the_text():
    from baselines.deyo import patch_shuffle

    images = torch.randn(2, 3, 64, 64)
    tokens = torch.randint(1, 49408, (2, 64))
    shuffled = patch_shuffle(pack_composed(images, tokens), 4, torch.Generator().manual_seed(0))
    new_images, new_tokens = unpack_composed(shuffled, 64)
    assert torch.equal(new_tokens, tokens)
    assert not torch.equal(new_images, images)
    assert torch.allclose(new_images.sum(dim=(2, 3)), images.sum(dim=(2, 3)), atol=1e-3)


def test_pair_shift_parts():
    name = pair_shift("gaussian_noise", "cr")
    assert name == "gaussian_noise+cr"
    assert composed_parts(name, 1) == (("gaussian_noise", 5), ("cr", 7))
    assert composed_parts("fog", 3) == (("fog", 3), ("clean", 0))
    assert composed_parts("ocr", 2) == (("clean", 0), ("ocr", 2))
    with pytest.raises(ValueError):
        pair_shift("cr", "fog")


# ---- the generator ----------------------------------------------------------------------


def test_every_target_is_unique_and_is_the_described_change():
    items = sample_cir(CirConfig(n_queries=60))
    scenes, refs, targets = gallery_of(items)
    keys = [s.key() for s in scenes]
    assert len(set(keys)) == len(keys) == 60 * 4  # no described scene twice in the gallery
    assert {it.kind for it in items} == {"colour", "shape", "pattern", "background", "add",
                                         "remove"}
    for it in items:
        ref, tgt = it.reference, it.target
        words = it.text.split()
        if it.kind == "colour":
            (changed,) = [b for a, b in zip(ref.objects, tgt.objects, strict=True) if a != b]
            assert changed.colour in (words[-1], {"grey": "gray", "violet": "purple"}.get(
                words[-1]))
        elif it.kind == "remove":
            assert len(tgt.objects) == len(ref.objects) - 1
        elif it.kind == "add":
            assert len(tgt.objects) == len(ref.objects) + 1
        elif it.kind == "background":
            assert tgt.background != ref.background and tgt.objects == ref.objects
        # a distractor is the same kind of change to another value: never the target
        assert all(d.key() != tgt.key() for d in it.distractors)
    assert sample_cir(CirConfig(n_queries=60)) == items  # a pure function of the config


# ---- loaders on fixtures ----------------------------------------------------------------


def _png(path):
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)


def _fashioniq(root):
    fiq = root / "fashionIQ_dataset"
    names = ["B001", "B002", "B003", "B004"]
    for n in names:
        _png(fiq / "images" / f"{n}.png")
    (fiq / "image_splits").mkdir(parents=True)
    (fiq / "captions").mkdir(parents=True)
    (fiq / "image_splits" / "split.dress.val.json").write_text(json.dumps(names))
    (fiq / "captions" / "cap.dress.val.json").write_text(json.dumps([
        {"candidate": "B003", "target": "B001", "captions": ["is shorter.", "has no sleeves"]},
        {"candidate": "B002", "target": "B004", "captions": ["is red ", "and longer?"]}]))
    return fiq


def test_fashioniq_loader_on_a_fixture(tmp_path):
    _fashioniq(tmp_path)
    ds = load_fashioniq(tmp_path, "dress")
    assert ds.kind == "composed" and ds.n_images == 4 and not ds.remove_reference
    assert ds.captions == ["Is shorter and has no sleeves", "Is red and and longer"]
    assert ds.reference_image.tolist() == [2, 1] and ds.caption_image.tolist() == [0, 3]
    assert [r.tolist() for r in ds.relevant_to_caption()] == [[0], [3]]
    assert fashioniq_caption(["a dress."]) == "A dress"


def test_fashioniq_refusals(tmp_path):
    with pytest.raises(DataError, match="FashionIQ not found"):
        load_fashioniq(tmp_path, "dress")
    fiq = _fashioniq(tmp_path)
    (fiq / "captions" / "cap.dress.val.json").write_text(json.dumps([
        {"candidate": "B999", "target": "B001", "captions": ["x", "y"]}]))
    with pytest.raises(DataError, match="candidate 'B999' is not in"):
        load_fashioniq(tmp_path, "dress")
    with pytest.raises(DataError, match="unknown FashionIQ category"):
        load_fashioniq(tmp_path, "shoes")


def _cirr(root, rel_of=lambda n: f"./dev/{n}.png"):
    names = [f"dev-{k}-img0" for k in range(6)]
    for n in names:
        _png(root / "dev" / f"{n}.png")
    (root / "cirr" / "captions").mkdir(parents=True)
    (root / "cirr" / "image_splits").mkdir(parents=True)
    (root / "cirr" / "image_splits" / "split.rc2.val.json").write_text(
        json.dumps({n: rel_of(n) for n in names}))
    (root / "cirr" / "captions" / "cap.rc2.val.json").write_text(json.dumps([
        {"pairid": 0, "reference": names[0], "target_hard": names[2], "caption": " make it red ",
         "target_soft": {names[2]: 1.0}, "img_set": {"id": 0, "members": names[:4]}},
        {"pairid": 1, "reference": names[5], "target_hard": names[4], "caption": "add a dog",
         "target_soft": {}, "img_set": {"id": 1, "members": names[2:]}}]))


def test_cirr_loader_on_a_fixture(tmp_path):
    _cirr(tmp_path)
    ds = load_cirr(tmp_path)
    assert ds.kind == "composed" and ds.remove_reference and ds.n_images == 6
    assert ds.captions == ["make it red", "add a dog"]
    assert ds.reference_image.tolist() == [0, 5] and ds.caption_image.tolist() == [2, 4]
    assert [s.tolist() for s in ds.subsets] == [[0, 1, 2, 3], [2, 3, 4, 5]]
    assert ds.image_paths[3] == tmp_path / "dev" / "dev-3-img0.png"
    # the unreadable-image check's subset keeps only queries whose images are all kept
    sub = ds.subset_images(np.array([0, 2, 3, 4, 5]))
    assert sub.n_captions == 2 and sub.reference_image.tolist() == [0, 4]
    sub = ds.subset_images(np.array([1, 2, 3, 4, 5]))
    assert sub.n_captions == 1 and sub.caption_image.tolist() == [3]
    with pytest.raises(DataError, match="hidden"):
        load_cirr(tmp_path, "test1")


def test_cirr_paths_stay_inside_the_data_folder(tmp_path):
    _cirr(tmp_path, rel_of=lambda n: f"../outside/{n}.png")
    with pytest.raises(DataError, match="leads outside"):
        load_cirr(tmp_path)


def test_real_suites_are_listed_with_what_they_need():
    code, out, _ = cli("list", "suites")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "embedded" in lines["mini-cir-c"]
    assert "needs --data-root" in lines["fashioniq-c"] and "needs --data-root" in lines["cirr-c"]
    from bench.api.registry import SUITES
    assert not SUITES.get("mini-cir-c").in_all  # opt-in: its own store


def test_real_suite_absent_is_refused_in_one_line(tmp_path):
    code, _, err = cli("run", "--method", "source", "--suite", "cirr-c", "--data-root",
                       tmp_path, "--out", tmp_path / "out")
    assert "CIRR val not found" in err


# ---- end to end -------------------------------------------------------------------------


def test_source_and_tent_on_mini_cir_c(tmp_path):
    from bench.data.synth import load_mini_cir
    from bench.engine.store import ResultStore
    from bench.models.registered import resolve_model

    with torch_threads(1):
        code, out, err = cli("run", "--method", "source,tent", "--suite", "mini-cir-c",
                             "--shift", "clean,gaussian_noise+cr", "--limit", "64",
                             "--out", tmp_path, "--workers", "1")
        assert code == 0, err
        store = ResultStore(tmp_path)
        rows = store.read().set_index(["method", "shift"])
        assert len(rows) == 4 and (rows.status == "ok").all()
        assert (rows.direction == "ti2i").all() and (rows.n_queries == 64).all()
        assert (rows.n_gallery == 2400).all() and rows.r50.notna().all()
        assert set(json.loads(rows.loc[("source", "clean"), "subset_recall"])) == {"r1", "r2",
                                                                                "r3"}
        assert "R@50" in out
        # tent adapted both query towers' LayerNorms: its rows differ from the source's
        src = rows.loc[("source", "gaussian_noise+cr")]
        assert rows.loc[("tent", "gaussian_noise+cr"), "map"] != src["map"]

        # the source ranks, recomputed by hand from the files: image + text composition,
        # the reference taken out of the candidates
        cell = rows.loc[("source", "clean"), "cell_id"]
        outcomes = store.read_outcomes([cell])
        ds = load_mini_cir(progress=False)
        rm = resolve_model("mini-clip", None, "cpu")
        with torch.no_grad():
            gallery = torch.cat([rm.encode_images(rm.image_tensor(np.stack(
                [rm.resize_image(ds.load_image(i)) for i in range(k, min(k + 400, ds.n_images))])))
                for k in range(0, ds.n_images, 400)])
            q = outcomes.query_id.to_numpy()
            refs = ds.reference_image[q]
            img = rm.encode_images(rm.image_tensor(np.stack(
                [rm.resize_image(ds.load_image(int(i))) for i in refs])))
            txt = rm.encode_texts(rm.tokenize([ds.captions[int(i)] for i in q]))
            scores = compose(img, txt) @ gallery.T
        scores[torch.arange(len(q)), torch.as_tensor(refs)] = -float("inf")
        target = scores[torch.arange(len(q)), torch.as_tensor(ds.caption_image[q])]
        ranks = 1 + (scores > target[:, None] + 1e-6).sum(dim=1)
        close = (scores - target[:, None]).abs() <= 1e-6
        # equal up to float rounding of near-ties (at most the near-tied items)
        assert np.all(np.abs(ranks.numpy() - outcomes.best_rank.to_numpy())
                      <= close.sum(dim=1).numpy())
        assert pd.Series(outcomes.best_rank).le(10).mean() * 100 == pytest.approx(
            rows.loc[("source", "clean"), "r10"])


def test_build_splits_a_pair_shift_into_its_image_and_text_parts():
    from bench.api.registry import SUITES, load_builtins
    from bench.commands.build import shifts_by_dataset

    load_builtins()
    got = shifts_by_dataset(SUITES.get("mini-cir-c"), None, ["gaussian_noise+cr", "ocr"])
    assert got == {"mini-cir": {"image": {("gaussian_noise", 5)},
                                "text": {("cr", 7), ("ocr", 7)}}}


def _check_composed_tower(rm, tokens_text):
    """Both query towers' LayerNorms adapt; the source encoder is the composition at setup."""
    tower = rm.query_model("ti2i")
    names = [n for n, _ in tower.named_params()]
    n_image = len(rm.layernorm_params("i2t"))
    assert len(names) == n_image + len(rm.layernorm_params("t2i"))
    assert all(n.startswith("image.") for n in names[:n_image])
    assert all(n.startswith("text.") for n in names[n_image:])
    h, w = rm.input_size
    images = torch.randn(2, 3, h, w)
    tokens = rm.tokenize(tokens_text)
    batch = pack_composed(images, tokens)
    with torch.no_grad():
        want = compose(rm.encode_images(images), rm.encode_texts(tokens))
        assert torch.allclose(tower.encode(batch), want, atol=1e-6)
        assert torch.allclose(tower.source_encoder()(batch), want, atol=1e-6)
    # a step on the composed loss moves LayerNorms of both towers
    loss = tower.encode(batch).sum()
    grads = torch.autograd.grad(loss, tower.params(), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads[:n_image])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[n_image:])


def test_composed_tower_of_an_open_clip_model():
    from bench.models.registered import resolve_model

    _check_composed_tower(resolve_model("mini-clip", "random", "cpu"),
                          ["make the red square blue", "remove the star"])


def test_composed_tower_of_blip(tmp_path):
    from helpers_blip import tiny_spec, write_vocab

    rm = tiny_spec(write_vocab(tmp_path)).load("random", "cpu", seed=0)
    _check_composed_tower(rm, ["a dog", "a red cat"])


def test_real_suites_run_end_to_end_on_fixtures(tmp_path):
    from bench.engine.store import ResultStore

    data = tmp_path / "data"
    _cirr(data / "cirr_dataset")
    fiq = _fashioniq(data)
    for category in ("shirt", "toptee"):
        for kind in ("captions/cap", "image_splits/split"):
            src = fiq / f"{kind}.dress.val.json"
            (fiq / f"{kind}.{category}.val.json").write_text(src.read_text())
    with torch_threads(1):
        for suite, n_rows in (("cirr-c", 1), ("fashioniq-c", 3)):
            out = tmp_path / suite
            code, _, err = cli("run", "--method", "source", "--suite", suite, "--data-root", data,
                               "--model", "mini-clip", "--pretrained", "random", "--shift",
                               "clean", "--out", out, "--workers", "1")
            assert code == 0, err
            rows = ResultStore(out).read()
            assert len(rows) == n_rows and (rows.status == "ok").all(), rows.error.tolist()
            assert (rows.n_queries == 2).all() and rows.r50.eq(100.0).all()
            inputs = json.loads(rows.inputs.iloc[0])
            assert inputs["caption_rule"] == "raw" and inputs["preprocess"]["mode"] == "crop"
            has_subsets = rows.subset_recall.notna().all()
            assert has_subsets == (suite == "cirr-c")
            assert (rows.n_gallery == (6 if suite == "cirr-c" else 4)).all()
