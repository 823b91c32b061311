"""Test plugin that fails while importing (a bug in the plugin)."""

from __future__ import annotations

raise ValueError("plugin bug on purpose")
