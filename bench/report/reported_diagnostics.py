"""Published common-space observations, kept as data: REST's Figure 1(b) (arXiv 2511.14416).

The values are approximate, *read off the figure* (bars, not printed numbers); they are drawn
beside bench's own only where the suite and the backbone match, and always labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.report.reported import BLIP_COCO, Backbone

SOURCE = ("REST: Toward Robust and Harmonious Adaptation for Cross-modal Retrieval "
          "(arXiv 2511.14416), Figure 1(b)")
LABEL = "REST Fig. 1(b), read off the figure"


@dataclass(frozen=True)
class FigureValues:
    """In-domain (clean) and shifted values of the measures on the source model, and the
    range of the adaptation-vs-keeping gradient angles (degrees)."""

    suite: str
    model: Backbone
    in_domain: dict[str, float]
    shifted: dict[str, float]
    angle_range: tuple[float, float]


POINTS: tuple[FigureValues, ...] = (
    FigureValues("coco-c", BLIP_COCO,
                 in_domain={"uniformity_q": 0.77, "gap": 0.66, "consistency": 0.29},
                 shifted={"uniformity_q": 0.74, "gap": 0.69, "consistency": 0.23},
                 angle_range=(111.0, 135.0)),
)


def figure_values(suite: str, models: list[tuple[str, str | None]]) -> FigureValues | None:
    """The published values for `suite` when one of its measured (model, weights) pairs is
    the figure's backbone; None otherwise."""
    for p in POINTS:
        if p.suite == suite and any(p.model.matches(m, w) for m, w in models):
            return p
    return None
