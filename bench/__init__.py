"""bench: test-time adaptation of cross-modal retrieval under query shift."""

from __future__ import annotations

__version__ = "0.1.0"
