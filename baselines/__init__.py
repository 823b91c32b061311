"""Published TTA baselines, one file each, run under bench's one protocol.

Registered through the ``bench.methods`` entry points in pyproject.toml, like a plugin.
"""
