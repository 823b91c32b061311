"""The two behaviours of the entropy-filtering baselines (EATA, SAR, DeYO).

- ``variant="tcr"`` (default): as TCR's ports (XLearning-SCU/2025-ICLR-TCR,
  models/tta_baselines/), the code that produced the published COCO-C / Flickr-C / ReID
  rows of these methods. Its filters keep a fraction of each batch.
- ``variant="original"``: as the methods' own papers and code, with margins in units of
  ln C (C = the gallery size) by default.

``margin_mode`` defaults to the variant's ("fraction" / "lnC"); the original variant also
runs with ``margin_mode="fraction"`` (its formulas with the batch-fraction filter: bench's
behaviour before the ports were followed). The TCR ports have no ln C mode.
"""

from __future__ import annotations

from bench.api.errors import ConfigError

VARIANTS = ("tcr", "original")
DEFAULT_MARGIN_MODE = {"tcr": "fraction", "original": "lnC"}


def resolve_margin_mode(method: str, variant: str, margin_mode: str | None) -> str:
    """The margin mode a config runs with; a clear error for an unknown or impossible pair."""
    if variant not in VARIANTS:
        raise ConfigError(f"{method}.variant must be one of {', '.join(VARIANTS)}, "
                          f"got {variant!r}")
    mode = margin_mode or DEFAULT_MARGIN_MODE[variant]
    if mode not in ("fraction", "lnC"):
        raise ConfigError(f"{method}.margin_mode must be fraction or lnC, got {mode!r}")
    if variant == "tcr" and mode != "fraction":
        raise ConfigError(f"{method}: TCR's port has no margin_mode={mode}",
                          f"use --set {method}.variant=original for the paper's ln C margins")
    return mode
