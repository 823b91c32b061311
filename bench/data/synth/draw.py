"""Drawing helpers shared by the generators: named colours, antialiased masks, textures.

Everything works on float32 arrays in [0, 1] (masks HxW, images HxWx3) and is a
pure function of its arguments (random parts take a numpy Generator), so the
same call always yields the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

# Well-separated named colours (sRGB 0-255) shared by scenes and pedestrians.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 36, 36),
    "orange": (245, 135, 20),
    "yellow": (242, 212, 36),
    "green": (46, 160, 58),
    "cyan": (38, 196, 214),
    "blue": (36, 76, 214),
    "purple": (128, 52, 186),
    "pink": (246, 128, 186),
    "brown": (120, 74, 36),
    "white": (242, 242, 240),
    "black": (26, 26, 28),
    "gray": (128, 128, 130),
}


def rgb(name_or_value: str | tuple[int, int, int]) -> np.ndarray:
    """A colour as a float32 RGB triple in [0, 1]."""
    value = COLOURS[name_or_value] if isinstance(name_or_value, str) else name_or_value
    return np.asarray(value, dtype=np.float32) / 255.0


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two [0, 1] RGB triples, on the 0-255 scale."""
    return float(np.linalg.norm((np.asarray(a) - np.asarray(b)) * 255.0))


def mask_from_drawing(size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw, float], None],
                      supersample: int = 3) -> np.ndarray:
    """An antialiased HxW mask: ``draw(d, scale)`` paints 255 on a ``supersample``x canvas.

    ``size`` is (width, height); coordinates passed to PIL must be multiplied by ``scale``.
    Box-downsampling the big canvas gives the soft, photo-like edges a
    rasteriser at native size would not.
    """
    w, h = size
    canvas = Image.new("L", (w * supersample, h * supersample), 0)
    draw(ImageDraw.Draw(canvas), float(supersample))
    small = canvas.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def regular_polygon(cx: float, cy: float, r: float, n: int, rot: float,
                    inner: float | None = None) -> list[tuple[float, float]]:
    """Vertices of a regular n-gon (or an n-pointed star when ``inner`` is a radius ratio)."""
    points = []
    steps = 2 * n if inner else n
    for k in range(steps):
        radius = r * (inner if inner and k % 2 else 1.0)
        a = rot - math.pi / 2 + 2 * math.pi * k / steps
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def rotate(points: list[tuple[float, float]], cx: float, cy: float,
           rot: float) -> list[tuple[float, float]]:
    c, s = math.cos(rot), math.sin(rot)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c)
            for x, y in points]


@lru_cache(maxsize=64)
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only (y, x) pixel-centre coordinates, cached: generators ask for the same sizes."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    y.flags.writeable = False
    x.flags.writeable = False
    return y, x


def _coords(h: int, w: int, angle: float) -> np.ndarray:
    """Pixel-centre coordinate along ``angle`` (radians), an HxW float32 array."""
    y, x = pixel_grid(h, w)
    return x * np.float32(math.cos(angle)) + y * np.float32(math.sin(angle))


def _band(u: np.ndarray, period: float, duty: float, phase: float) -> np.ndarray:
    """1 inside bands of width duty*period repeating every period, with 1-px soft edges."""
    f = np.mod(u / period + phase, 1.0)
    dist = (np.abs(f - 0.5) - duty / 2) * period  # <0 inside the band, in pixels
    return np.clip(0.5 - dist, 0.0, 1.0)


def stripes(h: int, w: int, period: float, angle: float, phase: float = 0.0,
            duty: float = 0.5) -> np.ndarray:
    return _band(_coords(h, w, angle), period, duty, phase)


def checker(h: int, w: int, period: float, angle: float, phase: float = 0.0) -> np.ndarray:
    a = 2 * _band(_coords(h, w, angle), period, 0.5, phase) - 1
    b = 2 * _band(_coords(h, w, angle + math.pi / 2), period, 0.5, phase) - 1
    return 0.5 - 0.5 * a * b


def grid_lines(h: int, w: int, period: float, width: float, angle: float = 0.0) -> np.ndarray:
    a = _band(_coords(h, w, angle), period, width / period, 0.0)
    b = _band(_coords(h, w, angle + math.pi / 2), period, width / period, 0.0)
    return np.maximum(a, b)


def dots(h: int, w: int, period: float, radius: float, angle: float = 0.0,
         phase: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    u = np.mod(_coords(h, w, angle) / period + phase[0], 1.0) - 0.5
    v = np.mod(_coords(h, w, angle + math.pi / 2) / period + phase[1], 1.0) - 0.5
    dist = np.hypot(u, v) * period
    return np.clip(radius - dist + 0.5, 0.0, 1.0)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a ``cells``-wide random grid, bicubic-upsampled."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    big = Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC)
    arr = np.asarray(big, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / max(hi - lo, 1e-6)


def wood_grain(rng: np.random.Generator, h: int, w: int, period: float,
               angle: float) -> np.ndarray:
    """Wavy grain lines: stripes whose coordinate is bent by smooth noise."""
    warp = smooth_noise(rng, h, w, 3) * period * 2.5
    u = _coords(h, w, angle) + warp
    f = np.mod(u / period, 1.0)
    return (0.5 + 0.5 * np.cos(2 * math.pi * f)) ** 3  # thin dark rings, wide light wood


def linear_ramp(h: int, w: int, angle: float) -> np.ndarray:
    """0 -> 1 across the image along ``angle``."""
    u = _coords(h, w, angle)
    lo, hi = float(u.min()), float(u.max())
    return (u - lo) / max(hi - lo, 1e-6)


def blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an HxW or HxWxC float array (channels blurred independently)."""
    if sigma <= 0:
        return arr
    spec = (sigma, sigma, 0) if arr.ndim == 3 else sigma
    return gaussian_filter(arr, spec, mode="nearest").astype(np.float32)


def shift(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` moved by (dx, dy) pixels, zero-filled (for drop shadows)."""
    out = np.zeros_like(mask)
    h, w = mask.shape[:2]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def over(canvas: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite an HxWx3 (or RGB triple) ``layer`` onto ``canvas`` in place."""
    a = alpha[..., None]
    canvas *= 1.0 - a
    canvas += a * layer
    return canvas


def to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image(img: np.ndarray, path: Path) -> None:
    """Write a uint8 RGB array; PNG lossless, JPEG at quality 95 with no chroma subsampling.

    Neither writer embeds time stamps, so the same pixels give the same bytes.
    """
    im = Image.fromarray(img)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        im.save(path, format="JPEG", quality=95, subsampling=0)
    else:
        im.save(path, format="PNG", compress_level=3)


Point = tuple[float, float]


def shade(value: tuple[int, ...] | str, k: float = 1.0) -> tuple[int, int, int]:
    """A named or 0-255 colour scaled by ``k`` (shadowed or lit), as a PIL fill."""
    v = COLOURS[value] if isinstance(value, str) else value
    return (int(min(255, v[0] * k)), int(min(255, v[1] * k)), int(min(255, v[2] * k)))


@dataclass
class Painter:
    """Paints on an RGB canvas and marks the same pixels opaque on an "L" alpha canvas.

    With both canvases starting black, box-downsampling them gives a figure already
    premultiplied by its antialiased alpha, ready to lay over any background.
    """

    colour: Image.Image
    alpha: Image.Image

    def __post_init__(self) -> None:
        self.c, self.a = ImageDraw.Draw(self.colour), ImageDraw.Draw(self.alpha)

    def poly(self, pts: list[Point], fill: tuple[int, int, int]) -> None:
        self.c.polygon(pts, fill=fill)
        self.a.polygon(pts, fill=255)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float,
                fill: tuple[int, int, int]) -> None:
        box = [cx - rx, cy - ry, cx + rx, cy + ry]
        self.c.ellipse(box, fill=fill)
        self.a.ellipse(box, fill=255)

    def pieslice(self, box: list[float], start: float, end: float,
                 fill: tuple[int, int, int]) -> None:
        self.c.pieslice(box, start, end, fill=fill)
        self.a.pieslice(box, start, end, fill=255)

    def limb(self, p0: Point, p1: Point, w0: float, w1: float,
             fill: tuple[int, int, int]) -> None:
        """A tapered segment with round ends (widths ``w0`` -> ``w1``), for arms and legs."""
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        n = max(math.hypot(dx, dy), 1e-6)
        ox, oy = -dy / n, dx / n
        a0, b0, a1, b1 = ox * w0 / 2, oy * w0 / 2, ox * w1 / 2, oy * w1 / 2
        self.poly([(p0[0] + a0, p0[1] + b0), (p1[0] + a1, p1[1] + b1),
                   (p1[0] - a1, p1[1] - b1), (p0[0] - a0, p0[1] - b0)], fill)
        self.ellipse(*p0, w0 / 2, w0 / 2, fill)
        self.ellipse(*p1, w1 / 2, w1 / 2, fill)

    def patterned(self, parts: list[list[Point]], texture: Image.Image) -> None:
        """Polygons filled with a pre-rendered texture (a striped or checked garment)."""
        mask = Image.new("L", self.colour.size, 0)
        md = ImageDraw.Draw(mask)
        for pts in parts:
            md.polygon(pts, fill=255)
            self.a.polygon(pts, fill=255)
        self.colour.paste(texture, mask=mask)
