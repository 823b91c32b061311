"""Model inputs for a cell: the clean gallery's embeddings and the shifted query stream.

Image shifts are applied to the full-resolution image *before* the model's
resize (docs/protocol.md section 4), then the resized uint8 images are cached per
(dataset, shift, severity, preprocessing), so every method and seed reuses them.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from bench.api.errors import DataError
from bench.api.protocol import PROTOCOL
from bench.api.registry import SHIFTS
from bench.data.dataset import RetrievalDataset
from bench.data.preprocess import PRE_CAPTION, apply_caption_rule, caption_cache_tag
from bench.data.released import released_captions, released_image
from bench.engine.cache import Cache
from bench.engine.metrics import COMPOSED_KS, KS
from bench.engine.parallel import pmap
from bench.engine.prebuilt import built_image, built_root, load_built_captions
from bench.models.composed import COMPOSED, pack_composed
from bench.models.openclip import RetrievalModel
from bench.shifts import CLEAN, composed_parts
from bench.suites.streams import StreamPlan

ENCODE_BATCH = 256


@dataclass
class InputOptions:
    cache: Cache
    workers: int = 1
    quiet: bool = False
    plugins: tuple[str, ...] = ()
    corruption_seed: int = PROTOCOL.corruption_seed
    max_cache_mb: int = 1024  # larger query sets are recomputed rather than cached
    # One random draw per (sample, shift) shared by all severities (common random numbers:
    # `bench similarity --paired`); the benchmark itself seeds per severity too.
    paired_severities: bool = False
    # TCR's released pre-built files under this data root instead of bench's own corruption
    # (`run --queries released`, bench/data/released.py); None: bench's own
    released_root: Path | None = None
    built_dir: Path | None = None  # where `bench build --out DIR` wrote (None: beside the data)


def image_sample_id(ds: RetrievalDataset, i: int) -> str:
    """The image's path relative to the image folder (RetrievalDataset.sample_id)."""
    return ds.sample_id(i)


def caption_sample_ids(ds: RetrievalDataset) -> list[str]:
    """'<image id>#<k>' for the k-th caption of an image: stable under subsetting."""
    seen: dict[int, int] = {}
    out = []
    for img in ds.caption_image:
        k = seen.get(int(img), 0)
        seen[int(img)] = k + 1
        out.append(f"{ds.sample_id(int(img))}#{k}")
    return out


def _image_job(args) -> tuple[np.ndarray | None, str | None]:
    path, shift, severity, seed, spatial, built = args
    prebuilt = built is not None and Path(built).is_file()
    try:
        with Image.open(built if prebuilt else path) as im:
            image = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as err:
        return None, f"cannot read image {path}: {err}"
    if shift != CLEAN and not prebuilt:
        image = SHIFTS.get(shift).apply(image, severity, seed)
    im = Image.fromarray(image)
    for t in spatial:
        im = t(im)
    return np.asarray(im.convert("RGB")), None


def _text_job(args) -> str:
    text, shift, severity, seed = args
    return SHIFTS.get(shift).apply(text, severity, seed)


def _ids_hash(ids: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]


def resized_images(ds: RetrievalDataset, ids: np.ndarray, shift: str, severity: int,
                   rm: RetrievalModel, opt: InputOptions) -> tuple[np.ndarray, np.ndarray]:
    """Model-size uint8 images (len(ids), H, W, 3), shifted at full resolution first,
    and a mask of the images that could not be read (reported on stderr, zeros here)."""
    info = SHIFTS.get(shift)
    parts = {"dataset": ds.fingerprint(), "shift": shift, "version": info.version,
             "severity": severity, "seed": opt.corruption_seed, "preprocess": rm.preprocess_id,
             "ids": _ids_hash(ids)}
    if opt.paired_severities:
        parts["paired_severities"] = True
    released = opt.released_root is not None and shift != CLEAN
    if released:
        parts["queries"] = "released"
    seed_level = 0 if opt.paired_severities else severity
    computed: dict[str, np.ndarray] = {}

    def compute() -> np.ndarray:
        own_seeds = opt.corruption_seed == 0 and not opt.paired_severities
        root = built_root(ds, opt.built_dir) if shift != CLEAN and own_seeds else None
        if released:  # the released file is the query image: read as is, never re-corrupted
            jobs = [(str(released_image(ds, opt.released_root, shift, severity, int(i))),
                     CLEAN, 0, 0, rm.spatial_steps, None) for i in ids]
        else:
            jobs = [(str(ds.image_paths[i]), shift, severity,
                     info.seed_for(image_sample_id(ds, i), shift, seed_level,
                                   opt.corruption_seed),
                     rm.spatial_steps,
                     None if root is None else str(built_image(
                         root, shift, severity, ds.image_paths[i],
                         image_sample_id(ds, i) if opt.built_dir else None)))
                    for i in ids]
        results = pmap(_image_job, jobs, workers=opt.workers, quiet=opt.quiet,
                       desc=f"{ds.name} images {shift}@{severity}", plugins=opt.plugins)
        shape = next((r.shape for r, _ in results if r is not None), None)
        if shape is None:
            raise DataError(f"no image of {ds.name} could be read (first: {results[0][1]})")
        out = np.zeros((len(results), *shape), dtype=np.uint8)
        bad = np.zeros(len(results), dtype=bool)
        for k, (img, err) in enumerate(results):
            if err:
                print(f"warning: {err}; the query is left out", file=sys.stderr)
                bad[k] = True
            else:
                out[k] = img
        computed["bad"] = bad
        return out

    cache = opt.cache if _fits(len(ids), rm, opt) else Cache(enabled=False)
    whole = _from_whole_set(ids, ds.n_images, parts, lambda p: (
        opt.cache.stored_array("images", p), opt.cache.stored_array("images-bad", p)))
    if whole is not None and whole[0] is not None and whole[1] is not None:
        return whole[0][ids], whole[1][ids]
    images = cache.array("images", parts, compute)
    if "bad" not in computed:  # images came from the cache
        bad = cache.array("images-bad", parts, lambda: (compute(), computed["bad"])[1])
    else:
        bad = cache.array("images-bad", parts, lambda: computed["bad"])
    return images, bad


def _from_whole_set(ids: np.ndarray, n: int, parts: dict, lookup: Callable[[dict], Any]) -> Any:
    """Corrupt once, reuse: when `ids` is a part of the split and the whole split is already
    cached under the same shift, severity and seed, what `lookup` finds there (else None)."""
    whole = np.arange(n)
    if len(ids) == n and np.array_equal(ids, whole):
        return None
    return lookup(parts | {"ids": _ids_hash(whole)})


def _fits(n: int, rm: RetrievalModel, opt: InputOptions) -> bool:
    h, w = rm.input_size
    return n * h * w * 3 <= opt.max_cache_mb * 2**20


def shifted_captions(ds: RetrievalDataset, ids: np.ndarray, shift: str, severity: int,
                     opt: InputOptions, caption_rule: str = PRE_CAPTION) -> list[str]:
    """The captions `ids` under a text shift (cached), then the caption rule of the data
    (bench/data/preprocess.py: BLIP's pre_caption, or raw for person search)."""
    if shift == CLEAN:
        return [apply_caption_rule(caption_rule, ds.captions[int(i)]) for i in ids]
    if opt.released_root is not None:
        texts = released_captions(ds, opt.released_root, shift, severity)
        return [apply_caption_rule(caption_rule, texts[int(i)]) for i in ids]
    info = SHIFTS.get(shift)
    sample_ids = caption_sample_ids(ds)
    parts = {"dataset": ds.fingerprint(), "shift": shift, "version": info.version,
             "severity": severity, "seed": opt.corruption_seed, "ids": _ids_hash(ids)}

    whole = _from_whole_set(ids, len(ds.captions), parts,
                            lambda p: opt.cache.stored_json("captions", p))
    if whole is not None:
        return [apply_caption_rule(caption_rule, whole[int(i)]) for i in ids]

    def compute() -> list[str]:
        built = (load_built_captions(ds, shift, severity, opt.built_dir)
                 if opt.corruption_seed == 0 else None)
        if built is not None and all(sample_ids[int(i)] in built for i in ids):
            return [built[sample_ids[int(i)]] for i in ids]
        jobs = [(ds.captions[int(i)], shift, severity,
                 info.seed_for(sample_ids[int(i)], shift, severity, opt.corruption_seed))
                for i in ids]
        return pmap(_text_job, jobs, workers=opt.workers, quiet=opt.quiet,
                    desc=f"{ds.name} captions {shift}@{severity}", plugins=opt.plugins,
                    min_parallel=2000)

    return [apply_caption_rule(caption_rule, t)
            for t in opt.cache.json("captions", parts, compute)]


@torch.no_grad()
def _encode_all(encode, inputs: torch.Tensor) -> torch.Tensor:
    out = [encode(inputs[i:i + ENCODE_BATCH]).float().cpu()
           for i in range(0, len(inputs), ENCODE_BATCH)]
    return torch.cat(out)


@torch.no_grad()
def encode_image_array(rm: RetrievalModel, images: np.ndarray) -> torch.Tensor:
    """Embeddings (CPU, float) of model-size uint8 images (N x H x W x 3), in batches."""
    return torch.cat([rm.encode_images(rm.image_tensor(images[i:i + ENCODE_BATCH])).float().cpu()
                      for i in range(0, len(images), ENCODE_BATCH)])


def gallery_embeddings(ds: RetrievalDataset, direction: str, rm: RetrievalModel,
                       opt: InputOptions, caption_rule: str = PRE_CAPTION) -> torch.Tensor:
    """Clean gallery embeddings from the frozen source model (cached on disk)."""
    parts = {"model": rm.name, "weights": rm.weights_id, "dataset": ds.fingerprint(),
             "direction": direction, "preprocess": rm.preprocess_id,
             "text": caption_cache_tag(caption_rule)}
    if rm.activation != "gelu":  # GELU models' (embedded) cache keys predate the field
        parts["activation"] = rm.activation

    def compute() -> torch.Tensor:
        rm.restore_source()
        if direction == "i2t":
            texts = [apply_caption_rule(caption_rule, c) for c in ds.captions]
            return _encode_all(rm.encode_texts, rm.tokenize(texts))
        ids = np.arange(ds.n_images)
        images, bad = resized_images(ds, ids, CLEAN, 0, rm, opt)
        if bad.any():
            first = ds.image_paths[int(np.nonzero(bad)[0][0])]
            raise DataError(f"gallery image {first} cannot be read "
                            f"({int(bad.sum())} unreadable in {ds.name})")
        return encode_image_array(rm, images)

    return opt.cache.tensor("gallery", parts, compute)


@dataclass
class QuerySet:
    """Model inputs and relevance for every position of a stream plan."""

    raw: np.ndarray | torch.Tensor  # (P, H, W, 3) uint8 images or (P, L) token ids
    relevant: list[np.ndarray]  # relevant gallery indices per position
    usable: np.ndarray  # (P,) bool: False for queries whose image cannot be read
    to_model: Callable[[np.ndarray], torch.Tensor] | None = None  # images -> normalised tensor
    # composed queries: (P, L) modification token ids, packed with the reference images
    tokens: torch.Tensor | None = None
    excluded: list[np.ndarray] | None = None  # per position: gallery items that are no candidates
    subsets: list[np.ndarray] | None = None  # per position: its subset (subset recall)
    ks: tuple[int, ...] = KS  # the Recall@K cut-offs reported

    def batch(self, positions: np.ndarray) -> torch.Tensor:
        if self.to_model is None:
            return self.raw[torch.as_tensor(positions)]
        images = self.to_model(self.raw[positions])
        if self.tokens is None:
            return images
        return pack_composed(images, self.tokens[torch.as_tensor(positions)])

    def scoring(self, positions: np.ndarray) -> dict:
        """What `RankAccumulator.add` needs besides the rows, for these positions."""
        return {"relevant": [self.relevant[p] for p in positions],
                "excluded": None if self.excluded is None else [self.excluded[p] for p in positions],
                "subsets": None if self.subsets is None else [self.subsets[p] for p in positions]}


def build_queries(ds: RetrievalDataset, direction: str, plan: StreamPlan, rm: RetrievalModel,
                  opt: InputOptions, clean: bool = False,
                  caption_rule: str = PRE_CAPTION) -> QuerySet:
    """The shifted (or, with ``clean=True``, clean) inputs of every position of `plan`."""
    if direction == COMPOSED:
        return composed_queries(ds, plan, rm, opt, clean, caption_rule)
    relevant_all = ds.relevant_to_image() if direction == "i2t" else ds.relevant_to_caption()
    relevant = [relevant_all[int(i)] for i in plan.query_ids]
    usable = np.ones(len(plan.query_ids), dtype=bool)
    raw = None
    for k, seg in enumerate(plan.segments):
        pos = plan.positions_of(k)
        ids = plan.query_ids[pos]
        if len(ids) == 0:  # --limit below the number of segments leaves some empty
            continue
        shift, sev = (CLEAN, 0) if clean else (seg.shift, seg.severity)
        if direction == "i2t":
            part, bad = resized_images(ds, ids, shift, sev, rm, opt)
            usable[pos] = ~bad
        else:
            part = rm.tokenize(shifted_captions(ds, ids, shift, sev, opt, caption_rule)).numpy()
        if raw is None:
            raw = np.zeros((len(plan.query_ids), *part.shape[1:]), dtype=part.dtype)
        raw[pos] = part
    if direction == "i2t":
        return QuerySet(raw=raw, relevant=relevant, usable=usable, to_model=rm.image_tensor)
    return QuerySet(raw=torch.from_numpy(raw), relevant=relevant, usable=usable)


def composed_queries(ds: RetrievalDataset, plan: StreamPlan, rm: RetrievalModel,
                     opt: InputOptions, clean: bool = False,
                     caption_rule: str = PRE_CAPTION) -> QuerySet:
    """Composed queries of `plan`: each segment's image shift on the reference images, its
    text shift on the modification texts (both for a pair shift, bench.shifts)."""
    relevant_all = ds.relevant_to_caption()
    relevant = [relevant_all[int(i)] for i in plan.query_ids]
    n = len(plan.query_ids)
    usable = np.ones(n, dtype=bool)
    images, tokens = None, None
    for k, seg in enumerate(plan.segments):
        pos = plan.positions_of(k)
        ids = plan.query_ids[pos]
        if len(ids) == 0:
            continue
        (ishift, isev), (tshift, tsev) = composed_parts(
            CLEAN if clean else seg.shift, 0 if clean else seg.severity)
        part, bad = resized_images(ds, ds.reference_image[ids], ishift, isev, rm, opt)
        usable[pos] = ~bad
        texts = rm.tokenize(shifted_captions(ds, ids, tshift, tsev, opt, caption_rule))
        if images is None:
            images = np.zeros((n, *part.shape[1:]), dtype=part.dtype)
            tokens = torch.zeros((n, texts.shape[1]), dtype=texts.dtype)
        images[pos] = part
        tokens[torch.as_tensor(pos)] = texts
    refs = ds.reference_image[plan.query_ids]
    excluded = [np.asarray([r], dtype=np.int64) for r in refs] if ds.remove_reference else None
    subsets = (None if ds.subsets is None
               else [np.asarray(ds.subsets[int(i)], dtype=np.int64) for i in plan.query_ids])
    return QuerySet(raw=images, relevant=relevant, usable=usable, to_model=rm.image_tensor,
                    tokens=tokens, excluded=excluded, subsets=subsets, ks=COMPOSED_KS)
