"""Train an embedded mini CLIP from scratch on a generated training split.

Fixed number of steps (not a time budget) and fixed seeds, so the same command
gives the same checkpoint up to float noise. The checkpoint is stored in fp16
(<= 20 MB) next to a JSON card with the recipe and the measured test metrics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.loss import ClipLoss
from tqdm import tqdm

from bench.data.dataset import RetrievalDataset
from bench.data.preprocess import pre_caption as normalize_caption
from bench.engine.cache import Cache
from bench.engine.inputs import InputOptions, resized_images
from bench.engine.parallel import default_workers
from bench.engine.provenance import git_sha
from bench.models.openclip import RetrievalModel
from bench.models.registered import architecture, shipped_file
from bench.models.weights import add_bench_configs, file_sha256
from bench.studies.mini.augment import noisy_caption, photometric


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe; the defaults are the shipped mini-clip checkpoint's (`RECIPES`)."""

    model: str = "mini-clip"  # mini-clip(-2) (mini-scenes) or mini-reid (mini-pedes style A)
    steps: int = 1200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup: int = 100
    seed: int = 0
    augment: bool = True  # photometric noise (bench/studies/mini/augment.py)
    caption_noise: bool = True  # typos and dropped words in half of the captions
    init: str | None = None  # start from this checkpoint (a path, or a shipped file's name)
    logit_scale: float | None = None  # fixed logit scale (not learned); None: learned, <= 100


# The shipped checkpoints' recipes (each one's card in bench/assets/models/ records the
# config it was trained with): `python -m bench mini train --model M` reproduces them.
# mini-clip-2 continues mini-clip at the protocol's temperature (logit scale 100) for 1,500
# more steps: the source model of the regime-matched embedded suites; its length was chosen
# from source rows under shift (docs/embedded-regime.md).
RECIPES = {"mini-clip": TrainConfig(model="mini-clip"),
           "mini-clip-2": TrainConfig(model="mini-clip-2", steps=1500, lr=5e-4, warmup=100,
                                      init="mini-clip.pt", logit_scale=100.0),
           "mini-reid": TrainConfig(model="mini-reid", steps=600)}


def training_data(model: str, split: str) -> RetrievalDataset:
    """The generated split a mini model trains or is tested on (by its architecture)."""
    from bench.data.synth import load_mini_pedes, load_mini_scenes
    model = architecture(model)
    if model == "mini-clip":
        return load_mini_scenes(split=split)
    if model == "mini-reid":
        return load_mini_pedes(style="a", split=split)
    raise ValueError(f"no training data for model {model} (mini-clip or mini-reid)")


def _cosine_lr(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * t))


def _wrap(model: torch.nn.Module, preprocess, name: str,
          device: torch.device | None = None) -> RetrievalModel:
    """A RetrievalModel around `model` whose 'source' weights are the current ones."""
    return RetrievalModel(model, preprocess, open_clip.get_tokenizer(architecture(name)), name,
                          "training",
                          "training", device or torch.device("cpu"))


def _new_model(cfg: TrainConfig, device: torch.device) -> tuple[torch.nn.Module, RetrievalModel]:
    add_bench_configs()
    torch.manual_seed(cfg.seed)
    logging.getLogger().setLevel(logging.ERROR)  # "initialized randomly" is the point here
    model, _, preprocess = open_clip.create_model_and_transforms(architecture(cfg.model),
                                                                 pretrained=None)
    if cfg.init:
        state = torch.load(init_file(cfg.init), map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    if cfg.logit_scale is not None:
        with torch.no_grad():
            model.logit_scale.fill_(math.log(cfg.logit_scale))
    model.to(device)
    rm = _wrap(model, preprocess, cfg.model, device)
    for p in model.parameters():  # RetrievalModel freezes everything; training needs all
        p.requires_grad_(True)
    if cfg.logit_scale is not None:
        model.logit_scale.requires_grad_(False)
    return model, rm


def init_file(init: str) -> Path:
    """The checkpoint a recipe starts from: a path, else a shipped file's name."""
    path = Path(init)
    return path if path.is_file() else shipped_file(init)


def _state_path(out: Path) -> Path:
    """Where an unfinished training run keeps its state (removed when the run finishes)."""
    return out.with_name(out.name + ".train-state")


def _save_state(path: Path, cfg: TrainConfig, step: int, model, opt, rng, pyrng, gen,
                order, cursor) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"config": dataclasses.asdict(cfg), "step": step, "model": model.state_dict(),
                "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                "pyrng": pyrng.getstate(), "gen": gen.get_state(), "order": order,
                "cursor": cursor}, tmp)
    tmp.replace(path)


def _load_state(path: Path, cfg: TrainConfig) -> dict | None:
    """A saved state of the same recipe, or None (a state of another recipe is ignored)."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state if state["config"] == dataclasses.asdict(cfg) else None


def train(cfg: TrainConfig, out: Path, quiet: bool = False, workers: int | None = None,
          save_every: int = 50, device: str = "cpu") -> dict:
    """Train, evaluate on the test split, write ``out`` (fp16 weights) and ``out``.card.json.

    ``device`` only moves the arithmetic (a CUDA run is faster, not bitwise equal).
    Every ``save_every`` steps the full training state (weights, optimiser, random
    generators, data order) is written beside ``out``; a rerun of the same recipe resumes
    from it and gives the checkpoint an uninterrupted run gives.
    """
    start = time.time()
    init_sha = file_sha256(init_file(cfg.init)) if cfg.init else None
    dev = torch.device(device)
    model, rm = _new_model(cfg, dev)
    data = training_data(cfg.model, "train")
    build = InputOptions(cache=Cache(), workers=workers or default_workers(), quiet=quiet)
    images, _ = resized_images(data, np.arange(data.n_images), "clean", 0, rm, build)
    captions = [[] for _ in range(data.n_images)]
    for text, img in zip(data.captions, data.caption_image, strict=True):
        captions[int(img)].append(normalize_caption(text))
    norm = rm.tensor_steps[-1]
    mean = torch.tensor(norm.mean).view(1, 3, 1, 1).to(dev)
    std = torch.tensor(norm.std).view(1, 3, 1, 1).to(dev)

    rng = np.random.default_rng(cfg.seed)
    pyrng = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    loss_fn = ClipLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    order, cursor = rng.permutation(data.n_images), 0
    state_path, first = _state_path(out), 0
    saved = _load_state(state_path, cfg)
    if saved is not None:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        rng.bit_generator.state = saved["rng"]
        pyrng.setstate(saved["pyrng"])
        gen.set_state(saved["gen"])
        order, cursor, first = saved["order"], saved["cursor"], saved["step"]
    bar = tqdm(range(first, cfg.steps), desc=f"train {cfg.model}", disable=quiet,
               dynamic_ncols=True, initial=first, total=cfg.steps)
    for step in bar:
        if cursor + cfg.batch_size > len(order):
            order, cursor = rng.permutation(data.n_images), 0
        idx = order[cursor:cursor + cfg.batch_size]
        cursor += cfg.batch_size
        x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float() / 255.0
        if cfg.augment:
            x = photometric(x, gen)
        x = (x.to(dev) - mean) / std
        texts = [pyrng.choice(captions[int(i)]) for i in idx]
        if cfg.caption_noise:
            texts = [noisy_caption(t, pyrng) for t in texts]
        for group in opt.param_groups:
            group["lr"] = _cosine_lr(step, cfg)
        image_features, text_features, logit_scale = model(x, rm.tokenize(texts).to(dev))[:3]
        loss = loss_fn(image_features, text_features, logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if save_every and (step + 1) % save_every == 0 and step + 1 < cfg.steps:
            _save_state(state_path, cfg, step + 1, model, opt, rng, pyrng, gen, order, cursor)
    model.eval()
    metrics = evaluate_clean(_wrap(model, rm.preprocess, cfg.model, dev), cfg.model, build)
    card = {"model": cfg.model, "config": dataclasses.asdict(cfg), "train_images": data.n_images,
            "train_captions": data.n_captions, "test_metrics": metrics,
            "train_wall_s": round(time.time() - start, 1), "torch_version": torch.__version__,
            "threads": torch.get_num_threads(), "device": str(dev), "bench_git_sha": git_sha()}
    if init_sha:
        card["init_sha256"] = init_sha
    if saved is not None:
        card["resumed_at_step"] = saved["step"]  # train_wall_s counts this run only
    save_checkpoint(model, out, card)
    state_path.unlink(missing_ok=True)
    return card


def clean_metrics(rm: RetrievalModel, ds, direction: str, build: InputOptions) -> dict:
    """Clean metrics of one direction of a dataset, every query once (rounded to 0.01); the
    gallery is encoded afresh, the queries through `build`'s cache."""
    from bench.engine.inputs import build_queries, gallery_embeddings
    from bench.engine.loop import evaluate_frozen
    from bench.suites.streams import Segment, plan_stream

    n = ds.n_images if direction == "i2t" else ds.n_captions
    plan = plan_stream(n, [Segment("clean", 0)], "single", 0)
    g = gallery_embeddings(ds, direction, rm, InputOptions(cache=Cache(enabled=False),
                                                           workers=build.workers, quiet=True))
    q = build_queries(ds, direction, plan, rm, build)
    return {k: round(v, 2) for k, v in evaluate_frozen(rm, direction, g, q).items()}


def evaluate_clean(rm: RetrievalModel, model: str, build: InputOptions,
                   split: str = "test") -> dict:
    """Clean R@1/R@5/R@10 of a model on a test split, both directions (t2i only for ReID)."""
    rm.model.eval()
    ds = training_data(model, split)
    directions = ("t2i",) if ds.kind == "reid" else ("i2t", "t2i")
    return {d: clean_metrics(rm, ds, d, build) for d in directions}


def save_checkpoint(model: torch.nn.Module, out: Path, card: dict) -> None:
    state = {k: (v.cpu().half() if v.is_floating_point() else v.cpu())
             for k, v in model.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out)
    card["checkpoint_sha256"] = hashlib.sha256(out.read_bytes()).hexdigest()
    card["checkpoint_mb"] = round(out.stat().st_size / 2**20, 2)
    out.with_suffix(".card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
