"""A minimal stand-in for ``pkg_resources.resource_filename``.

imagecorruptions 1.1.2 does ``from pkg_resources import resource_filename`` at import time,
and setuptools >= 81 no longer ships ``pkg_resources``. The package only needs that one
function (to locate its frost images), so we provide it through importlib instead of pinning
an old setuptools.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterator

SHIM_NAME = "pkg_resources"


def _base_folder(name: str) -> str:
    module = sys.modules.get(name)
    if module is not None:  # the usual case: the caller asks about itself, already imported
        path = getattr(module, "__path__", None)
        if path:
            return list(path)[0]
        if getattr(module, "__file__", None):
            return os.path.dirname(module.__file__)
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"no module named {name!r}")
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    if spec.origin:
        return os.path.dirname(spec.origin)
    raise FileNotFoundError(f"{name!r} has no location on disk")


def resource_filename(package_or_module: str, resource_name: str) -> str:
    """Path of ``resource_name`` relative to a package or module, like pkg_resources'.

    A plain module's resources resolve next to its file, as pkg_resources does.
    """
    base = _base_folder(package_or_module)
    return os.path.normpath(os.path.join(base, *resource_name.split("/")))


def make_module() -> types.ModuleType:
    """A module object that exposes only ``resource_filename``."""
    module = types.ModuleType(SHIM_NAME, "bench's resource_filename-only pkg_resources stand-in")
    module.resource_filename = resource_filename  # type: ignore[attr-defined]
    return module


def pkg_resources_missing() -> bool:
    if SHIM_NAME in sys.modules:
        return False
    return importlib.util.find_spec(SHIM_NAME) is None


@contextlib.contextmanager
def installed_if_missing() -> Iterator[bool]:
    """Put the stand-in into ``sys.modules`` for the duration of an import, if needed.

    It is removed again afterwards: other libraries probe ``import pkg_resources`` and fall
    back when it is absent; a one-function fake left behind would break those fallbacks.
    The importing module has already bound ``resource_filename`` by then, so it keeps working.
    Yields whether the stand-in was installed.
    """
    if not pkg_resources_missing():
        yield False
        return
    sys.modules[SHIM_NAME] = make_module()
    try:
        yield True
    finally:
        sys.modules.pop(SHIM_NAME, None)
