"""Proposed methods (REST), registered through the ``bench.methods`` entry points in
pyproject.toml, like a plugin."""
