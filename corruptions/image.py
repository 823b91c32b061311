"""Image corruptions (COCO-C / Flickr-C), severities 1-5, seeded per call."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from . import image_fixed
from .errors import ShiftUnavailable, UnknownShift
from .seeding import numpy_global_seed
from .table import IMAGE_SHIFTS, check_level

MIN_SIDE = 32  # imagecorruptions' own lower limit on height and width

# Shifts computed by bench's own code (see image_fixed); the rest call imagecorruptions.
_OWN = {
    "glass_blur": lambda x, s, seed: image_fixed.glass_blur(x, s),
    "fog": lambda x, s, seed: image_fixed.fog(x, s),
    "zoom_blur": lambda x, s, seed: image_fixed.zoom_blur(x, s),
    "impulse_noise": image_fixed.impulse_noise,
}
# Own implementations that do not touch the imagecorruptions package at all.
_STANDALONE = ("glass_blur", "fog", "impulse_noise")


def needs(name: str) -> str:
    if name in _STANDALONE:
        return f"numpy + scikit-image (bench's NumPy-2 port of imagecorruptions' {name})"
    return "imagecorruptions 1.1.2 (+ scikit-image, OpenCV, SciPy)"


def available(name: str) -> tuple[bool, str]:
    try:
        if name in _STANDALONE:
            import skimage.filters  # noqa: F401
            import skimage.util  # noqa: F401
        else:
            from ._backend import imagecorruptions_module

            imagecorruptions_module()
    except Exception as exc:  # any import failure makes the shift unavailable
        return False, f"{name} cannot run: {type(exc).__name__}: {exc}"
    return True, ""


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 view of an HxW, HxWx1 or HxWx3 uint8 image; ValueError otherwise."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {arr.shape}")
    if min(arr.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"image is {arr.shape[0]}x{arr.shape[1]}: height and width must be at least "
            f"{MIN_SIDE} px (imagecorruptions' limit)"
        )
    return np.ascontiguousarray(arr)


def _corruption(name: str) -> Callable[[Image.Image, int, int], object]:
    if name in _OWN:
        return _OWN[name]
    from ._backend import imagecorruptions_module

    func = getattr(imagecorruptions_module(), name)
    return lambda x, s, seed: func(x, s)


def apply_image(name: str, image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Corrupt ``image`` with shift ``name`` at ``severity`` (1-5), reproducibly from ``seed``.

    Returns an HxWx3 uint8 array (grayscale input comes back as three equal channels).
    """
    if name not in IMAGE_SHIFTS:
        raise UnknownShift(name, IMAGE_SHIFTS)
    severity = check_level(name, severity)
    rgb = as_rgb_uint8(image)
    ok, reason = available(name)
    if not ok:
        raise ShiftUnavailable(reason)
    with numpy_global_seed(int(seed) & 0xFFFFFFFF):
        out = _corruption(name)(Image.fromarray(rgb), severity, int(seed) & 0xFFFFFFFF)
    # np.uint8 truncates, exactly as imagecorruptions.corrupt() converts its float output;
    # the clip only guards the cast (every corruption already clips to [0, 255]).
    result = np.uint8(np.clip(np.asarray(out), 0, 255))
    if result.shape != rgb.shape:
        raise RuntimeError(f"{name} returned shape {result.shape} for input {rgb.shape}")
    return result
