"""Published reference points (docs/protocol.md section 7), kept as data.

These are R@1 at maximum severity as printed in TCR's tables. They were
transcribed by a third party and have not been checked against the PDF, so the
leaderboard shows them only as labelled `(reported)` rows, never ranked or bolded.
The source rows need no TTA: matching them validates data, weights and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = ("TCR: Test-time Adaptation for Cross-modal Retrieval with Query Shift "
          "(ICLR 2025), result tables")
NOTE = "third-party transcription, not yet verified against the PDF"

BLIP_COCO = "BLIP ViT-B/16 fine-tuned on COCO"
CLIP_ZS = "CLIP ViT-B/16 zero-shot"
IRRA = "IRRA (CLIP ViT-B/16)"


@dataclass(frozen=True)
class ReportedPoint:
    """One published number: where it belongs in the leaderboard and what it averages."""

    suite: str
    direction: str
    method: str
    model: str
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


def points_for(suite: str, direction: str, metric: str = "r1") -> list[ReportedPoint]:
    """The published points comparable to one leaderboard table."""
    return [p for p in POINTS
            if p.suite == suite and p.direction == direction and p.metric == metric]
