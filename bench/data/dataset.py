"""The retrieval dataset contract shared by every loader.

A dataset is a list of images and a list of captions, each caption describing
one image. Relevance is derived from it:

* ``kind == "captions"`` (COCO, Flickr, mini-scenes): an image query's relevant
  items are its own captions; a caption query's relevant item is its image.
* ``kind == "reid"`` (CUHK-PEDES, ICFG-PEDES, RSTPReid, mini-pedes): relevance is
  identity-based: every image (or caption) of the same person id is relevant.
* ``kind == "fashion"`` (Fashion-Gen): the same by product: ``person_ids`` holds each
  image's product, and every image of a product is relevant to each of its descriptions.
* ``kind == "composed"`` (FashionIQ, CIRR, mini-cir): a query is a reference image
  (``reference_image``) and a modification text (``captions``); its relevant item is its
  target image (``caption_image``); the images are the gallery. ``remove_reference``: the
  reference image is taken out of its query's candidates (CIRR's protocol); ``subsets``:
  per query, the gallery images of its subset (CIRR's ``img_set``) for subset recall.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bench.api.errors import DataError

KINDS = ("captions", "reid", "fashion", "composed")
GROUPED = ("reid", "fashion")  # relevance by the group id in `person_ids` (person, product)


@dataclass
class RetrievalDataset:
    """One evaluation split, images on disk and captions in memory."""

    name: str
    kind: str
    image_paths: list[Path]
    captions: list[str]
    caption_image: np.ndarray  # (n_captions,) int64: index of the image each caption describes
    person_ids: np.ndarray | None = None  # (n_images,) int64 person (reid) or product (fashion)
    meta: dict = field(default_factory=dict)
    # composed queries only: (n_captions,) int64 index of each query's reference image
    reference_image: np.ndarray | None = None
    remove_reference: bool = False  # the reference is never a candidate (CIRR)
    subsets: list[np.ndarray] | None = None  # per query: its subset's gallery images (CIRR)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"dataset '{self.name}': unknown kind '{self.kind}'", f"one of {KINDS}")
        self.caption_image = np.asarray(self.caption_image, dtype=np.int64)
        if len(self.captions) != len(self.caption_image):
            raise DataError(f"dataset '{self.name}': {len(self.captions)} captions but "
                            f"{len(self.caption_image)} caption->image links")
        if len(self.caption_image) and (self.caption_image.min() < 0
                                        or self.caption_image.max() >= len(self.image_paths)):
            raise DataError(f"dataset '{self.name}': a caption points to a missing image")
        if self.person_ids is not None:
            self.person_ids = np.asarray(self.person_ids, dtype=np.int64)
            if len(self.person_ids) != len(self.image_paths):
                raise DataError(f"dataset '{self.name}': person ids do not match the images")
        if self.kind in GROUPED and self.person_ids is None:
            raise DataError(f"dataset '{self.name}': a {self.kind} dataset needs group ids")
        if self.kind == "composed":
            self._check_composed()

    def _check_composed(self) -> None:
        if self.reference_image is None:
            raise DataError(f"dataset '{self.name}': a composed dataset needs reference images")
        self.reference_image = np.asarray(self.reference_image, dtype=np.int64)
        if len(self.reference_image) != len(self.captions):
            raise DataError(f"dataset '{self.name}': {len(self.captions)} modification texts "
                            f"but {len(self.reference_image)} reference images")
        if len(self.reference_image) and (self.reference_image.min() < 0
                                          or self.reference_image.max() >= self.n_images):
            raise DataError(f"dataset '{self.name}': a query points to a missing reference image")
        if self.subsets is not None and len(self.subsets) != len(self.captions):
            raise DataError(f"dataset '{self.name}': subsets do not match the queries")

    @property
    def n_images(self) -> int:
        return len(self.image_paths)

    @property
    def n_captions(self) -> int:
        return len(self.captions)

    def sample_id(self, index: int) -> str:
        """The image's id for corruption seeds and built files: its path relative to the
        image folder (``meta["image_root"]``), so that ``cam_a/0001.jpg`` and
        ``cam_b/0001.jpg`` stay two samples. **[bench]** The embedded data (``meta`` has a
        ``generator``) keeps its file names, unique by construction, so that its committed
        results stay reproducible."""
        path = Path(self.image_paths[index])
        root = self.meta.get("image_root")
        if root and not self.meta.get("generator"):
            try:
                return path.relative_to(root).as_posix()
            except ValueError:
                pass
        return path.name

    def load_image(self, index: int) -> np.ndarray:
        """The image at native resolution as an HxWx3 uint8 array (RGB)."""
        path = self.image_paths[index]
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read image {path}: {err}") from err

    def fingerprint(self) -> str:
        """A content hash of the split (names, captions, links, file sizes) for caches."""
        if getattr(self, "_fingerprint", None):
            return self._fingerprint
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.kind}|".encode())
        for i, p in enumerate(self.image_paths):
            p = Path(p)
            size = p.stat().st_size if p.exists() else -1
            h.update(f"{self.sample_id(i)}:{size};".encode())
        for c in self.captions:
            h.update(c.encode())
            h.update(b"\x00")
        h.update(self.caption_image.tobytes())
        if self.person_ids is not None:
            h.update(self.person_ids.tobytes())
        if self.reference_image is not None:
            h.update(f"|composed|{self.remove_reference}|".encode())
            h.update(self.reference_image.tobytes())
        self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def relevant_to_image(self) -> list[np.ndarray]:
        """For each image query (i2t), the caption indices that are relevant."""
        if self.kind in GROUPED:
            pid_of_caption = self.person_ids[self.caption_image]
            by_pid: dict[int, list[int]] = {}
            for c, pid in enumerate(pid_of_caption):
                by_pid.setdefault(int(pid), []).append(c)
            return [np.asarray(by_pid.get(int(p), []), dtype=np.int64) for p in self.person_ids]
        order = np.argsort(self.caption_image, kind="stable")
        bounds = np.searchsorted(self.caption_image[order], np.arange(self.n_images + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(self.n_images)]

    def relevant_to_caption(self) -> list[np.ndarray]:
        """For each caption query (t2i), the image indices that are relevant."""
        if self.kind in GROUPED:
            by_pid: dict[int, list[int]] = {}
            for i, pid in enumerate(self.person_ids):
                by_pid.setdefault(int(pid), []).append(i)
            groups = {p: np.asarray(v, dtype=np.int64) for p, v in by_pid.items()}
            return [groups[int(self.person_ids[i])] for i in self.caption_image]
        return [np.asarray([i], dtype=np.int64) for i in self.caption_image]

    def first_captions(self, k: int = 1) -> RetrievalDataset:
        """The dataset with only the first ``k`` captions of each image (all images kept).

        For text-query (t2i) cells: the gallery is unchanged, so R@K means the same,
        from fewer queries. Not for i2t, where the captions are the gallery.
        """
        taken: dict[int, int] = {}
        keep = []
        for c, i in enumerate(self.caption_image.tolist()):
            taken[i] = taken.get(i, 0) + 1
            if taken[i] <= k:
                keep.append(c)
        return RetrievalDataset(
            name=f"{self.name}-{k}cap", kind=self.kind, image_paths=list(self.image_paths),
            captions=[self.captions[c] for c in keep], caption_image=self.caption_image[keep],
            person_ids=self.person_ids, meta=dict(self.meta))

    def subset_images(self, keep: np.ndarray) -> RetrievalDataset:
        """The dataset restricted to some images and their captions (for quick looks)."""
        keep = np.asarray(sorted(set(int(k) for k in keep)), dtype=np.int64)
        remap = -np.ones(self.n_images, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        kept = remap[self.caption_image] >= 0
        if self.reference_image is not None:  # a composed query needs its reference too
            kept &= remap[self.reference_image] >= 0
        cap_keep = np.nonzero(kept)[0]
        composed = {}
        if self.reference_image is not None:
            composed = {"reference_image": remap[self.reference_image[cap_keep]],
                        "remove_reference": self.remove_reference,
                        "subsets": None if self.subsets is None else [
                            remap[s][remap[s] >= 0] for s in (self.subsets[c] for c in cap_keep)]}
        return RetrievalDataset(
            name=self.name, kind=self.kind,
            image_paths=[self.image_paths[i] for i in keep],
            captions=[self.captions[c] for c in cap_keep],
            caption_image=remap[self.caption_image[cap_keep]],
            person_ids=None if self.person_ids is None else self.person_ids[keep],
            meta=dict(self.meta), **composed,
        )
