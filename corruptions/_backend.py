"""Lazy, cached import of the ``imagecorruptions`` package on current NumPy/setuptools."""

from __future__ import annotations

import functools
import types
import warnings

from ._pkg_resources_shim import installed_if_missing


@functools.cache
def imagecorruptions_module() -> types.ModuleType:
    """``imagecorruptions.corruptions`` (the per-corruption functions), imported once.

    Imported lazily because it pulls in scikit-image, OpenCV and SciPy: ``import corruptions``
    stays cheap for code that only needs names and specs.
    """
    with installed_if_missing(), warnings.catch_warnings():
        # It imports scipy.ndimage.interpolation, a deprecated alias namespace.
        warnings.simplefilter("ignore", DeprecationWarning)
        from imagecorruptions import corruptions as module
    return module
