"""Model adapters: any open_clip architecture, plus the embedded mini CLIPs."""

from __future__ import annotations

from bench.models.openclip import RetrievalModel, load_model

__all__ = ["RetrievalModel", "load_model"]
