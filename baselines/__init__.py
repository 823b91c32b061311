"""Published TTA baselines, one file each, run under bench's one protocol."""

from baselines import deyo, eata, read, sar, source, tcr, tent  # noqa: F401  (registration)
