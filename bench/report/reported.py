"""Published reference points (docs/protocol.md section 7), kept as data.

These are R@1 at maximum severity as printed in TCR's tables. They were
transcribed by a third party and have not been checked against the PDF, so the
leaderboard shows them only as labelled `(reported)` rows, never ranked or bolded.
The source rows need no TTA: matching them validates data, weights and metrics.

Each point carries its backbone; a leaderboard table shows a point only beside measured
rows of the same backbone (bench model, and weights where they matter) and suite.
The query-gallery-shift tables' BLIP averages (Nocaps, Fashion-Gen, BLIP on base2coco /
base2flickr) are not here: no source bench could read carries them; add them only
when transcribed from the paper.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SOURCE = ("TCR: Test-time Adaptation for Cross-modal Retrieval with Query Shift "
          "(ICLR 2025), result tables")
NOTE = "third-party transcription, not yet verified against the PDF"



@dataclass(frozen=True)
class Backbone:
    """The model behind published numbers, and the bench model that is the same network."""

    label: str  # as the paper names it
    model: str  # bench --model
    pretrained: str | None = None  # bench --pretrained; None: any weights of that model

    def matches(self, model: str, pretrained: str | None) -> bool:
        return model == self.model and self.pretrained in (None, pretrained)

    def __str__(self) -> str:
        return self.label


BLIP_COCO = Backbone("BLIP ViT-B/16 fine-tuned on COCO", "blip-base-coco")
CLIP_ZS = Backbone("CLIP ViT-B/16 zero-shot", "ViT-B-16", "openai")
IRRA = Backbone("IRRA (CLIP ViT-B/16)", "ViT-B-16")  # a local IRRA checkpoint: any weights


@dataclass(frozen=True)
class ReportedPoint:
    """One published number: where it belongs in the leaderboard and what it averages."""

    suite: str
    direction: str
    method: str
    model: Backbone
    value: float
    scope: str
    metric: str = "r1"
    column: str = "Avg."  # the leaderboard column the number is comparable to


_IMAGE = "mean over 16 image shifts at severity 5"
_TEXT = "mean over 15 text shifts at maximum severity"

POINTS: tuple[ReportedPoint, ...] = (
    ReportedPoint("coco-c", "i2t", "source", BLIP_COCO, 45.0, _IMAGE),
    ReportedPoint("coco-c", "i2t", "tent", BLIP_COCO, 43.0, _IMAGE),
    ReportedPoint("coco-c", "i2t", "eata", BLIP_COCO, 49.3, _IMAGE),
    ReportedPoint("coco-c", "i2t", "sar", BLIP_COCO, 46.0, _IMAGE),
    ReportedPoint("coco-c", "i2t", "read", BLIP_COCO, 46.9, _IMAGE),
    ReportedPoint("coco-c", "i2t", "deyo", BLIP_COCO, 48.2, _IMAGE),
    ReportedPoint("coco-c", "t2i", "source", BLIP_COCO, 40.9, _TEXT),
    ReportedPoint("coco-c", "t2i", "tent", BLIP_COCO, 40.7, _TEXT),
    ReportedPoint("coco-c", "t2i", "eata", BLIP_COCO, 41.5, _TEXT),
    ReportedPoint("base2flickr", "i2t", "source", CLIP_ZS, 80.2, "clean Flickr30K 1K test"),
    ReportedPoint("base2flickr", "t2i", "source", CLIP_ZS, 61.5, "clean Flickr30K 1K test"),
    ReportedPoint("base2coco", "i2t", "source", CLIP_ZS, 52.5, "clean COCO 5K test"),
    ReportedPoint("base2coco", "t2i", "source", CLIP_ZS, 33.0, "clean COCO 5K test"),
    ReportedPoint("cuhk2icfg", "t2i", "source", IRRA, 33.3, "ICFG-PEDES test, CUHK-PEDES model"),
    ReportedPoint("icfg2cuhk", "t2i", "source", IRRA, 41.0, "CUHK-PEDES test, ICFG-PEDES model"),
)


def reported_suites() -> list[str]:
    """Suites that have at least one published reference point."""
    return sorted({p.suite for p in POINTS})


def reported_backbones() -> str:
    """'suite (bench model[/weights]), ...': where published points exist, and for what."""
    pairs = dict.fromkeys((p.suite, p.model) for p in POINTS)
    return ", ".join(f"{s} ({b.model}{'/' + b.pretrained if b.pretrained else ''})"
                     for s, b in pairs)


def points_for(suite: str, direction: str, metric: str = "r1",
               models: Iterable[tuple[str, str | None]] | None = None) -> list[ReportedPoint]:
    """The published points comparable to one leaderboard table; with `models` (the
    table's measured (model, pretrained) pairs), only those of a matching backbone."""
    models = None if models is None else list(models)
    return [p for p in POINTS
            if p.suite == suite and p.direction == direction and p.metric == metric
            and (models is None or any(p.model.matches(m, w) for m, w in models))]
