"""Model adapters: any open_clip architecture, plus the embedded mini CLIPs.

open_clip (and torchvision through it) loads on first use of a model, not when the
registry is filled: reading and tabulating results never pays for it.
"""

from __future__ import annotations

__all__ = ["RetrievalModel", "load_model"]


def __getattr__(name: str):
    if name in __all__:
        from bench.models import openclip

        return getattr(openclip, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
