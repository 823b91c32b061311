"""Suites on user-provided data under ``--data-root`` (README, "Real data").

Accepted layouts (bench/data/layouts.py; checked by `python -m bench doctor`)::

    DATA_ROOT/coco/dataset_coco.json | coco/coco_karpathy_test.json   images: coco/val2014/...
    DATA_ROOT/flickr30k/dataset_flickr30k.json | flickr30k_test.json  flickr30k/flickr30k-images/
    DATA_ROOT/CUHK-PEDES/reid_raw.json                                CUHK-PEDES/imgs/
    DATA_ROOT/ICFG-PEDES/ICFG-PEDES.json | ICFG_PEDES.json            ICFG-PEDES/imgs/
    DATA_ROOT/RSTPReid/data_captions.json                             RSTPReid/imgs/
    DATA_ROOT/nocaps/annotations.json (TCR's Nocaps validation)       nocaps/<image>
    DATA_ROOT/Fashion-Gen/full_valid_info_PAI/*.pkl                   Fashion-Gen/extracted_valid_images/

Default models: the backbones of the published tables (BLIP, bench/models/blip_weights.py);
CLIP ViT-B/16 (``--model ViT-B-16 --pretrained openai``) is the documented alternative.
"""

from __future__ import annotations

from pathlib import Path

from bench.api.registry import SUITES
from bench.data.layouts import looked_for, missing_reason
from bench.shifts import builtin_shifts
from bench.suites.base import Suite, SuiteContext, clean_cells, diverse_cells, shift_cells
from bench.suites.embedded import OFFLINE_TEXT_SHIFTS

VERSION = "1"
IMAGE_SHIFTS = builtin_shifts("image")  # bench's own, from the shift book (bench/shifts.py)
TEXT_SHIFTS = builtin_shifts("text")

KINDS = {"coco": "captions", "flickr30k": "captions", "cuhk-pedes": "reid",
         "icfg-pedes": "reid", "rstpreid": "reid", "fashion-gen": "fashion",
         **{f"nocaps-{d}": "captions" for d in ("in", "near", "out", "entire")}}


def _root(ctx: SuiteContext) -> Path:
    return Path(ctx.data_root)


def _load(key: str):
    def load(ctx: SuiteContext):
        from bench.data.layouts import load_layout
        return load_layout(key, _root(ctx))
    return load


def _requires(*keys: str):
    def check(ctx: SuiteContext) -> str | None:
        if ctx.data_root is None:
            files = "; ".join(f"{k}: {looked_for(k)}" for k in keys)
            return f"needs --data-root DIR holding one of {files} (README: Real data)"
        reasons = [r for r in (missing_reason(k, _root(ctx)) for k in keys) if r]
        return "; ".join(reasons) or None
    return check


def _real(name: str, description: str, keys: tuple[str, ...], make_cells,
          model: str = "ViT-B-16", pretrained: str | None = "openai", published: str = "") -> None:
    """A suite; a registered `model` (BLIP) brings its own weights. `published`: the
    backbone of the published tables for this suite (shown in the README's suite table)."""
    if published:
        description += f". Published tables: {published}"
    SUITES.add(name, Suite(
        name=name, version=VERSION, description=description,
        loaders={k: _load(k) for k in keys}, make_cells=make_cells,
        requires=_requires(*keys), default_model=model, default_pretrained=pretrained,
        dataset_kinds={k: KINDS[k] for k in keys}))


PRETRAINED_BLIP = "blip-base"  # TCR's query-gallery-shift configs: model_base.pth at 384 px
_QGS = ("BLIP ViT-B/16 pre-trained (`blip-base`) and CLIP ViT-B/16 zero-shot "
        "(`--model ViT-B-16 --pretrained openai`)")
for _key, _label in (("coco", "COCO Karpathy 5K test"), ("flickr30k", "Flickr30K 1K test")):
    _short = "coco" if _key == "coco" else "flickr"
    _tuned = f"blip-base-{_short}"  # TCR's query-shift configs: BLIP fine-tuned on the dataset
    _blip_tables = (f"BLIP ViT-B/16 and ViT-L/16 (384 px) fine-tuned on {_label.split()[0]} "
                    f"(`{_tuned}`, `blip-large-{_short}`)")
    _real(f"{_short}-c", f"{_label}: 16 image corruptions (i2t), 15 text corruptions (t2i)",
          (_key,), lambda sev, k=_key: (shift_cells(k, "i2t", IMAGE_SHIFTS, sev)
                                        + shift_cells(k, "t2i", TEXT_SHIFTS, sev)),
          model=_tuned, pretrained=None, published=_blip_tables)
    _real(f"{_short}-diverse", f"{_label}: mixed, continual and mixed-severity streams",
          (_key,), lambda sev, k=_key: (
              diverse_cells(k, "i2t", "image-mix", IMAGE_SHIFTS, severity_shift="gaussian_noise")
              + diverse_cells(k, "t2i", "text-mix", OFFLINE_TEXT_SHIFTS)),
          model=_tuned, pretrained=None, published=_blip_tables)
    _real(f"base2{_short}", f"{_label}, clean, both directions: a pre-trained (not fine-tuned) "
          "model under query-gallery shift", (_key,), lambda sev, k=_key: clean_cells(k),
          model=PRETRAINED_BLIP, pretrained=None, published=_QGS)

_NOCAPS = tuple(f"nocaps-{d}" for d in ("in", "near", "out", "entire"))
_real("nocaps", "Nocaps validation, clean, both directions, per domain (in, near, out, entire): "
      "query-gallery shift for a pre-trained model", _NOCAPS,
      lambda sev: [c for k in _NOCAPS for c in clean_cells(k)], model=PRETRAINED_BLIP,
      pretrained=None, published=_QGS)
_real("fashion-gen", "Fashion-Gen validation, clean, both directions; every image of a product "
      "is relevant to its descriptions (temperature 0.001)", ("fashion-gen",),
      lambda sev: clean_cells("fashion-gen"), model=PRETRAINED_BLIP, pretrained=None,
      published=_QGS)

_REID_HINT = None  # person-search models are IRRA checkpoints: the user passes --pretrained PATH
_real("cuhk2icfg", "ICFG-PEDES test, t2i, with a model trained on CUHK-PEDES (IRRA)",
      ("icfg-pedes",), lambda sev: clean_cells("icfg-pedes", ("t2i",)), pretrained=_REID_HINT,
      published="IRRA (CLIP ViT-B/16) checkpoints")
_real("icfg2cuhk", "CUHK-PEDES test, t2i, with a model trained on ICFG-PEDES (IRRA)",
      ("cuhk-pedes",), lambda sev: clean_cells("cuhk-pedes", ("t2i",)), pretrained=_REID_HINT,
      published="IRRA (CLIP ViT-B/16) checkpoints")
_real("rstpreid", "RSTPReid test, t2i", ("rstpreid",),
      lambda sev: clean_cells("rstpreid", ("t2i",)), pretrained=_REID_HINT)
for _key in ("cuhk-pedes", "icfg-pedes", "rstpreid"):
    _real(f"{_key}-c", f"{_key} test, t2i, 15 text corruptions", (_key,),
          lambda sev, k=_key: shift_cells(k, "t2i", TEXT_SHIFTS, sev), pretrained=_REID_HINT)
