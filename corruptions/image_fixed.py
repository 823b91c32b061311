"""bench's own versions of the imagecorruptions functions that do not run as shipped.

Each keeps the package's parameter table and draws the same random numbers in the same
order from NumPy's global RNG, so under the same global seed it returns what the package
would return with the minimal API fix applied:

- glass_blur: skimage's ``multichannel=True`` became ``channel_axis=-1``; the pixel loop
  is rewritten to run fast (same draws, same sequential semantics).
- fog: ``np.float_`` (removed in NumPy 2) became ``np.float64``.
- zoom_blur: the package works, but its severity-5 zoom list stops at 1.30 where the
  protocol (MM_Robustness) goes to 1.33.
- impulse_noise: the package works, but skimage >= 0.21 draws s&p noise from its own
  ``default_rng()`` instead of the global RNG, so the package's output cannot be seeded;
  we pass the seed to skimage explicitly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# (sigma, max_delta, iterations) per severity, as in imagecorruptions and docs/protocol.md.
GLASS_BLUR = ((0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2))
# (fog strength, plasma wibble decay) per severity.
FOG = ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))
# Zoom factors per severity. Severity 5 follows docs/protocol.md / MM_Robustness
# (np.arange(1, 1.33, 0.03): 12 factors up to 1.33); imagecorruptions 1.1.2 has
# np.arange(1, 1.31, 0.03) (11 factors up to 1.30). Severities 1-4 are identical.
ZOOM_BLUR = (
    (1.0, 1.11, 0.01),
    (1.0, 1.16, 0.01),
    (1.0, 1.21, 0.02),
    (1.0, 1.26, 0.02),
    (1.0, 1.33, 0.03),
)
IMPULSE_NOISE = (0.03, 0.06, 0.09, 0.17, 0.27)


def _gaussian_rgb(x: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.filters import gaussian

    return gaussian(x, sigma=sigma, channel_axis=-1)


def _copy_pixels(img: np.ndarray, delta: int, iterations: int) -> None:
    """The package's "local shuffle" loop, in place, with identical results.

    The original writes ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on an HxWx3 array:
    the right side holds *views*, so after the first assignment the second is a no-op.
    It is therefore a copy x[h, w] <- x[h', w'], applied sequentially (later copies read
    earlier results). We keep that order but run it on a flat list of packed RGB ints.
    """
    height, width = img.shape[:2]
    rows = np.arange(height - delta, delta, -1)
    cols = np.arange(width - delta, delta, -1)
    if rows.size == 0 or cols.size == 0:
        return
    # One randint call yields the same legacy-RandomState stream as the original's
    # per-pixel randint(size=2) calls; the last axis is (dx, dy) as there.
    offsets = np.random.randint(-delta, delta, size=(iterations, rows.size, cols.size, 2))
    flat = img.reshape(-1, 3).astype(np.int64)
    packed = ((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]).tolist()
    dst = (rows[:, None] * width + cols[None, :]).ravel().tolist()
    for it in range(iterations):
        dx, dy = offsets[it, ..., 0], offsets[it, ..., 1]
        src = ((rows[:, None] + dy) * width + (cols[None, :] + dx)).ravel().tolist()
        for d, s in zip(dst, src, strict=True):
            packed[d] = packed[s]
    values = np.asarray(packed, dtype=np.int64)
    rgb = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=-1)
    img[...] = rgb.reshape(img.shape).astype(np.uint8)


def glass_blur(x: Image.Image, severity: int) -> np.ndarray:
    sigma, delta, iterations = GLASS_BLUR[severity - 1]
    img = np.uint8(_gaussian_rgb(np.array(x) / 255.0, sigma) * 255)
    _copy_pixels(img, delta, iterations)
    return np.clip(_gaussian_rgb(img / 255.0, sigma), 0, 1) * 255


def plasma_fractal(mapsize: int = 256, wibbledecay: float = 3) -> np.ndarray:
    """Diamond-square height map in [0, 1], square of side ``mapsize`` (a power of two)."""
    if mapsize & (mapsize - 1):
        raise ValueError(f"mapsize must be a power of two, got {mapsize}")
    grid = np.empty((mapsize, mapsize), dtype=np.float64)
    grid[0, 0] = 0
    step = mapsize
    wibble = 100.0

    def jitter(total: np.ndarray) -> np.ndarray:
        return total / 4 + wibble * np.random.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        # Squares: each centre from its four corners.
        corners = grid[0:mapsize:step, 0:mapsize:step]
        acc = corners + np.roll(corners, shift=-1, axis=0)
        acc += np.roll(acc, shift=-1, axis=1)
        grid[half:mapsize:step, half:mapsize:step] = jitter(acc)
        # Diamonds: edge midpoints from two centres and two corners.
        centres = grid[half:mapsize:step, half:mapsize:step]
        corners = grid[0:mapsize:step, 0:mapsize:step]
        # Bracketed as in the original so the float sums round identically.
        top = (centres + np.roll(centres, 1, axis=0)) + (corners + np.roll(corners, -1, axis=1))
        grid[0:mapsize:step, half:mapsize:step] = jitter(top)
        left = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=0))
        grid[half:mapsize:step, 0:mapsize:step] = jitter(left)
        step //= 2
        wibble /= wibbledecay
    grid -= grid.min()
    return grid / grid.max()


def _next_power_of_2(n: int) -> int:
    return 1 if n == 0 else 2 ** (n - 1).bit_length()


def fog(x: Image.Image, severity: int) -> np.ndarray:
    strength, decay = FOG[severity - 1]
    img = np.array(x) / 255.0
    height, width = img.shape[:2]
    max_val = img.max()
    # The map covers the longer side (the package's rule; MM_Robustness used a fixed 1024,
    # which is the same map for COCO-sized photos of at most 1024 px).
    fractal = plasma_fractal(_next_power_of_2(int(max(img.shape))), decay)
    img += strength * fractal[:height, :width][..., np.newaxis]
    return np.clip(img * max_val / (max_val + strength), 0, 1) * 255


def zoom_blur(x: Image.Image, severity: int) -> np.ndarray:
    from ._backend import imagecorruptions_module

    clipped_zoom = imagecorruptions_module().clipped_zoom
    factors = np.arange(*ZOOM_BLUR[severity - 1])
    img = (np.array(x) / 255.0).astype(np.float32)
    height, width = img.shape[:2]
    out = np.zeros_like(img)
    for factor in factors:
        # clipped_zoom's output is never smaller than the input (ceil crop, then zoom).
        out += clipped_zoom(img, factor)[:height, :width, :]
    return np.clip((img + out) / (len(factors) + 1), 0, 1) * 255


def impulse_noise(x: Image.Image, severity: int, seed: int) -> np.ndarray:
    from skimage.util import random_noise

    amount = IMPULSE_NOISE[severity - 1]
    noisy = random_noise(np.array(x) / 255.0, mode="s&p", amount=amount, rng=seed)
    return np.clip(noisy, 0, 1) * 255
