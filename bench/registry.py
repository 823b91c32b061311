"""The four registries and their decorators.

Third-party packages add entries through the entry-point groups
``bench.methods``, ``bench.suites``, ``bench.shifts`` and ``bench.models``
(an entry point names the object to register, e.g. ``mytta = "mypkg:MyMethod"``),
or a file on disk with ``--plugin path.py`` that uses the decorators below.
"""

from __future__ import annotations

import importlib

from bench._registry import Registry, load_plugin

METHODS: Registry = Registry("method", "bench.methods")
SUITES: Registry = Registry("suite", "bench.suites")
SHIFTS: Registry = Registry("shift", "bench.shifts")
MODELS: Registry = Registry("model", "bench.models")

register_method = METHODS.register
register_suite = SUITES.register
register_shift = SHIFTS.register
register_model = MODELS.register

# Modules whose import registers bench's own entries.
_BUILTIN_MODULES = (
    "bench.shifts",
    "bench.models.registered",
    "bench.models.blip_weights",
    "bench.suites.embedded",
    "bench.suites.real",
    "baselines",
    "methods",
)
_loaded = False


def load_builtins() -> None:
    """Import bench's own registrations once (cheap: no model or data is loaded)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _BUILTIN_MODULES:
        importlib.import_module(name)


def load_plugins(specs: list[str] | None) -> None:
    load_builtins()
    for spec in specs or []:
        load_plugin(spec)


__all__ = ["METHODS", "SUITES", "SHIFTS", "MODELS", "register_method", "register_suite",
           "register_shift", "register_model", "load_builtins", "load_plugins"]
