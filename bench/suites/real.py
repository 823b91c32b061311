"""Facts of the suites on user-provided data under ``--data-root`` (README, "Real data").

The suites are files (bench/suites/builtin/*.toml); their datasets use the ``layout``
format (bench/suites/formats.py), whose accepted layouts are bench/data/layouts.py's
(checked by `python -m bench doctor`)::

    DATA_ROOT/coco/dataset_coco.json | coco/coco_karpathy_test.json   images: coco/val2014/...
    DATA_ROOT/flickr30k/dataset_flickr30k.json | flickr30k_test.json  flickr30k/flickr30k-images/
    DATA_ROOT/CUHK-PEDES/reid_raw.json                                CUHK-PEDES/imgs/
    DATA_ROOT/ICFG-PEDES/ICFG-PEDES.json | ICFG_PEDES.json            ICFG-PEDES/imgs/
    DATA_ROOT/RSTPReid/data_captions.json                             RSTPReid/imgs/
    DATA_ROOT/nocaps/annotations.json (TCR's Nocaps validation)       nocaps/<image>
    DATA_ROOT/Fashion-Gen/full_valid_info_PAI/*.pkl                   Fashion-Gen/extracted_valid_images/
    DATA_ROOT/RSICD/dataset_rsicd.json                                RSICD/RSICD_images/
    DATA_ROOT/RSITMD/dataset_RSITMD.json                              RSITMD/images/
    DATA_ROOT/UCM_captions/dataset.json                               UCM_captions/imgs/

Default models: the backbones of the published tables (BLIP, bench/models/blip_weights.py);
CLIP ViT-B/16 (``--model ViT-B-16 --pretrained openai``) is the documented alternative and
the remote-sensing suites' default.
"""

from __future__ import annotations

from bench.shifts import builtin_shifts
from bench.suites.base import SuiteContext
from bench.suites.formats import FORMATS

VERSION = "1"
IMAGE_SHIFTS = builtin_shifts("image")  # bench's own, from the shift book (bench/shifts.py)
TEXT_SHIFTS = builtin_shifts("text")


def _load(key: str):
    """The loader of dataset `key` in its released layout under the data root."""
    def load(ctx: SuiteContext):
        return FORMATS["layout"].load(key, {"layout": key}, ctx)
    return load


def _requires(*keys: str):
    """What a suite on datasets `keys` (released layouts) lacks under the context's data root."""
    from bench.suites.files import suite_from_table
    table = {"name": "requires", "version": "1", "model": "ViT-B-16",
             "datasets": {k: {"format": "layout", "layout": k, "kind": "captions"} for k in keys},
             "cells": [{"dataset": keys[0], "shifts": ["clean"]}]}
    return suite_from_table(table, "requires").requires
