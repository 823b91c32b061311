"""Test plugin that registers a method under a name bench already uses."""

from __future__ import annotations

from baselines.source import Source
from bench.api import register_method


@register_method("tent")
class NotTent(Source):
    name = "tent"
