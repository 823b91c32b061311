"""Train the mini combiner (bench/models/combiner.py) on mini-cir's training split.

The training split is mini-cir's generator under another seed with every described scene
of the test split (the suite's 600 queries: references, targets, distractors) excluded, so
that no test scene is seen. The mini CLIP is frozen: the features of every reference
image, modification text, target and distractor are computed once, and the combiner is
trained on them with CLIP4Cir's batch classification loss (each query against the batch's
targets), with the query's own distractors (the same change to other values) as extra
negatives. Fixed steps and seeds; the checkpoint (fp16) is written with a JSON card (recipe,
wall time, clean test metrics of the combiner and of the zero-shot sum, sha256).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from bench.api.contract import COMPOSED
from bench.api.registry import MODELS
from bench.data.preprocess import pre_caption as normalize_caption
from bench.data.synth.composed import CirConfig, sample_cir, scene_keys
from bench.data.synth.scenes import render_scene
from bench.engine.cache import Cache
from bench.engine.inputs import InputOptions, encode_image_array
from bench.engine.provenance import git_sha
from bench.models.combiner import Combiner, CombinerConfig, combiner_state, load_combiner
from bench.models.composed import compose
from bench.models.openclip import RetrievalModel
from bench.studies.mini.train import _cosine_lr, clean_metrics


@dataclass(frozen=True)
class CombinerTrainConfig:
    """The recipe of the shipped mini-cir-combiner checkpoint."""

    model: str = "mini-cir-combiner"
    clip: str = "mini-clip"  # the frozen CLIP whose features the combiner combines
    n_queries: int = 5000  # training queries (each: reference, text, target, distractors)
    data_seed: int = 1  # mini-cir's generator seed of the training split (the test split: 0)
    steps: int = 3000
    batch_size: int = 256
    lr: float = 5e-4
    weight_decay: float = 1e-5  # CLIP4Cir's Adam weight decay
    warmup: int = 100
    seed: int = 0
    distractor_negatives: bool = True  # the query's own distractors join the batch's targets
    projection_dim: int = 512
    hidden_dim: int = 1024
    dropout: float = 0.5


@dataclass
class Features:
    """Frozen CLIP features of a split (N queries): normalised, (N, d) and (N, k, d)."""

    reference: torch.Tensor
    text: torch.Tensor
    target: torch.Tensor
    distractors: torch.Tensor


def training_items(cfg: CombinerTrainConfig):
    """The training split's queries: no described scene of the test split among them."""
    test = scene_keys(sample_cir(CirConfig()))
    return sample_cir(CirConfig(n_queries=cfg.n_queries, seed=cfg.data_seed), exclude=test)


@torch.no_grad()
def split_features(items, rm: RetrievalModel, quiet: bool = True) -> Features:
    """Render every scene of `items` as the suite does (CirConfig's size, then the model's
    resize) and encode it with the frozen CLIP."""
    size = CirConfig().image_size
    k = len(items[0].distractors)
    scenes = [s for it in items for s in (it.reference, it.target, *it.distractors)]
    resized = np.stack([rm.resize_image(render_scene(s, size))
                        for s in tqdm(scenes, desc="render", disable=quiet, dynamic_ncols=True)])
    images = encode_image_array(rm, resized).view(len(items), 2 + k, -1)
    tokens = rm.tokenize([normalize_caption(it.text) for it in items])
    text = torch.cat([rm.encode_texts(tokens[i:i + 512]).float().cpu()
                      for i in range(0, len(tokens), 512)])
    return Features(images[:, 0], text, images[:, 1], images[:, 2:])


def fit(cfg: CombinerTrainConfig, feats: Features, quiet: bool = True) -> Combiner:
    """Train a combiner on precomputed features (fixed steps, seeded batches)."""
    torch.manual_seed(cfg.seed)
    combiner = Combiner(CombinerConfig(feature_dim=feats.text.shape[1],
                                       projection_dim=cfg.projection_dim,
                                       hidden_dim=cfg.hidden_dim, dropout=cfg.dropout))
    opt = torch.optim.Adam(combiner.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    n = len(feats.text)
    order, cursor = rng.permutation(n), 0
    combiner.train()
    bar = tqdm(range(cfg.steps), desc="train combiner", disable=quiet, dynamic_ncols=True)
    for step in bar:
        if cursor + cfg.batch_size > n:
            order, cursor = rng.permutation(n), 0
        idx = torch.from_numpy(order[cursor:cursor + cfg.batch_size])
        cursor += cfg.batch_size
        targets = feats.target[idx]
        if cfg.distractor_negatives:
            targets = torch.cat([targets, feats.distractors[idx].flatten(0, 1)])
        for group in opt.param_groups:
            group["lr"] = _cosine_lr(step, cfg)
        logits = combiner.logits(feats.reference[idx], feats.text[idx], targets)
        loss = F.cross_entropy(logits, torch.arange(len(idx)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    combiner.eval()
    for p in combiner.parameters():
        p.requires_grad_(False)
    return combiner


def train(cfg: CombinerTrainConfig, out: Path, quiet: bool = False) -> dict:
    """Features, training, clean test metrics; writes ``out`` and ``out``.card.json."""
    start = time.time()
    clip = MODELS.get(cfg.clip)
    rm = clip.load(None, "cpu")
    items = training_items(cfg)
    feats = split_features(items, rm, quiet)
    features_s = time.time() - start
    combiner = fit(cfg, feats, quiet)
    fit_s = time.time() - start - features_s
    clip_sha = rm.weights_id.removeprefix("sha256:")
    write_checkpoint(combiner, clip_sha, out)
    shipped = load_combiner(out, clip_sha)  # the metrics are the shipped (fp16) weights'
    metrics = {"zero-shot": evaluate_test(rm, compose), "combiner": evaluate_test(rm, shipped)}
    card = {"model": cfg.model, "config": dataclasses.asdict(cfg), "train_queries": len(items),
            "clip_sha256": clip_sha, "test_metrics": metrics,
            "features_wall_s": round(features_s, 1), "fit_wall_s": round(fit_s, 1),
            "train_wall_s": round(time.time() - start, 1), "torch_version": torch.__version__,
            "threads": torch.get_num_threads(), "bench_git_sha": git_sha(),
            "checkpoint_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
            "checkpoint_mb": round(out.stat().st_size / 2**20, 2)}
    out.with_suffix(".card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def evaluate_test(rm: RetrievalModel, combine) -> dict:
    """Clean R@1/5/10/50 and mAP on mini-cir (the test split, the suite's clean cell),
    with `combine` as the composition."""
    from bench.data.synth import load_mini_cir

    rm.combine = combine
    build = InputOptions(cache=Cache(enabled=False), workers=1, quiet=True)
    with torch.no_grad():
        return clean_metrics(rm, load_mini_cir(progress=False), COMPOSED, build)


def write_checkpoint(combiner: Combiner, clip_sha: str, out: Path) -> None:
    """The checkpoint, written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(combiner_state(combiner, clip_sha), tmp)
    tmp.replace(out)
