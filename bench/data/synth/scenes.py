"""mini-scenes: 1-3 coloured, patterned shapes on a textured background.

``sample_scene`` draws a ``SceneSpec`` (what the captions describe), ``render_scene``
turns it into pixels (antialiased, shaded, with drop shadows and mild lighting
changes), and ``scene_captions`` (in ``scene_text``) writes the paraphrases.
Everything random in the rendering comes from ``spec.seed``, so a spec always
renders to the same image.
"""

from __future__ import annotations

import math

import numpy as np

from bench.data.synth import draw
from bench.data.synth.scene_spec import SceneObject, SceneSpec
from bench.data.synth.scene_text import scene_captions

__all__ = ["GENERATOR_VERSION", "SceneObject", "SceneSpec", "render_scene", "sample_scene",
           "scene_captions"]

# Bump on any change to sampling, rendering or captions: it names the output folder.
GENERATOR_VERSION = "mini-scenes-v1"

SHAPES = ("circle", "square", "triangle", "star", "ring", "cross", "hexagon", "heart",
          "diamond", "pentagon")
OBJECT_COLOURS = tuple(draw.COLOURS)
# Circumradius as a fraction of the image side: a small shape is still ~13 px wide at 64 px.
SIZES = {"small": 0.10, "medium": 0.135, "large": 0.17}
PATTERNS = ("plain", "striped", "dotted", "checkered")
# Muted background tones, so that the named object colours stand out from them.
BACKGROUNDS = {
    "white": (226, 224, 218), "gray": (142, 142, 140), "black": (46, 46, 50),
    "beige": (212, 192, 156), "brown": (130, 94, 62), "blue": (74, 106, 158),
    "green": (88, 130, 86), "pink": (222, 172, 182), "purple": (120, 94, 140),
}
TEXTURES = ("plain", "gradient", "cloudy", "wooden", "tiled")
CELL_CENTRES = (0.2, 0.5, 0.8)  # a 3x3 grid: positions and relations are read off the cells
MIN_CONTRAST = 100.0  # RGB distance (0-255) between an object colour and the background


def sample_scene(rng: np.random.Generator) -> SceneSpec:
    """A random scene: 1-3 objects in distinct grid cells that do not overlap much."""
    background = str(rng.choice(list(BACKGROUNDS)))
    texture = str(rng.choice(TEXTURES))
    n = int(rng.choice([1, 2, 3], p=[0.25, 0.4, 0.35]))
    bg = draw.rgb(BACKGROUNDS[background])
    colours = [c for c in OBJECT_COLOURS
               if c != background and draw.colour_distance(draw.rgb(c), bg) >= MIN_CONTRAST]
    while True:
        cells = rng.permutation(9)[:n]
        objects = tuple(_sample_object(rng, int(c), colours) for c in cells)
        if _well_separated(objects):
            return SceneSpec(objects, background, texture, int(rng.integers(2**31)))


def _sample_object(rng: np.random.Generator, cell: int, colours: list[str]) -> SceneObject:
    col, row = cell % 3, cell // 3
    size = str(rng.choice(list(SIZES)))
    r = SIZES[size]
    x = float(np.clip(CELL_CENTRES[col] + rng.uniform(-0.04, 0.04), r + 0.02, 0.98 - r))
    y = float(np.clip(CELL_CENTRES[row] + rng.uniform(-0.04, 0.04), r + 0.02, 0.98 - r))
    return SceneObject(shape=str(rng.choice(SHAPES)), colour=str(rng.choice(colours)),
                       size=size, pattern=str(rng.choice(PATTERNS, p=[0.4, 0.2, 0.2, 0.2])),
                       cell=(col, row), x=x, y=y, rot=float(rng.uniform(-0.25, 0.25)))


def _well_separated(objects: tuple[SceneObject, ...]) -> bool:
    for i, a in enumerate(objects):
        for b in objects[i + 1:]:
            if math.hypot(a.x - b.x, a.y - b.y) < 0.9 * (SIZES[a.size] + SIZES[b.size]):
                return False
    return True


def render_scene(spec: SceneSpec, size: int = 224) -> np.ndarray:
    """The scene as a ``size`` x ``size`` x 3 uint8 RGB image."""
    rng = np.random.default_rng(spec.seed)
    img = _background(spec, size, rng)
    light = rng.uniform(0, 2 * math.pi)  # direction the light comes from
    for obj in sorted(spec.objects, key=lambda o: -SIZES[o.size]):  # big ones behind
        _draw_object(img, obj, size, light, rng)
    # Mild global lighting: exposure, a soft ramp and a small colour temperature change.
    ramp = draw.linear_ramp(size, size, light + math.pi)
    gain = rng.uniform(0.88, 1.1) * (1 + rng.uniform(0.04, 0.12) * (0.5 - ramp))
    tint = 1 + rng.uniform(-0.04, 0.04, size=3).astype(np.float32)
    return draw.to_uint8(img * gain[..., None] * tint)


def _background(spec: SceneSpec, size: int, rng: np.random.Generator) -> np.ndarray:
    base = draw.rgb(BACKGROUNDS[spec.background])
    angle = rng.uniform(0, 2 * math.pi)
    if spec.texture == "gradient":
        shade = 1.22 - 0.5 * draw.linear_ramp(size, size, angle)
    elif spec.texture == "cloudy":
        shade = 0.74 + 0.5 * draw.smooth_noise(rng, size, size, int(rng.integers(4, 8)))
    elif spec.texture == "wooden":
        grain = draw.wood_grain(rng, size, size, size / rng.uniform(7, 11),
                                rng.uniform(-0.2, 0.2) + math.pi / 2 * rng.integers(2))
        shade = 1.06 - 0.24 * grain
    elif spec.texture == "tiled":
        period = size / int(rng.integers(4, 7))
        shade = 1.05 - 0.4 * draw.grid_lines(size, size, period, max(2.0, size / 90))
    else:
        shade = np.ones((size, size), np.float32)
    # A faint low-frequency variation everywhere keeps plain areas from looking flat.
    shade = shade * (0.97 + 0.06 * draw.smooth_noise(rng, size, size, 3))
    return shade[..., None] * base


def _draw_object(img: np.ndarray, obj: SceneObject, size: int, light: float,
                 rng: np.random.Generator) -> None:
    r = SIZES[obj.size] * size
    off = r * 0.14  # drop shadow offset, away from the light
    sigma = r * 0.12  # soft, as under a diffuse lamp
    # Work on a window around the object: 5-10x fewer pixels than the whole canvas.
    pad = int(1.2 * r + off + 3 * sigma) + 2
    x0, y0 = max(0, int(obj.x * size) - pad), max(0, int(obj.y * size) - pad)
    x1, y1 = min(size, int(obj.x * size) + pad), min(size, int(obj.y * size) + pad)
    win = img[y0:y1, x0:x1]
    h, w = win.shape[:2]
    cx, cy = obj.x * size - x0, obj.y * size - y0
    mask = draw.mask_from_drawing((w, h), lambda d, s: _shape(d, obj, cx * s, cy * s, r * s))
    dx, dy = int(round(-off * math.cos(light))), int(round(-off * math.sin(light)))
    shadow = draw.blur(draw.shift(mask, dx, dy), sigma)
    win *= (1 - 0.4 * shadow)[..., None]

    colour = draw.rgb(obj.colour)
    fill = np.broadcast_to(colour, win.shape).copy()
    pattern = _pattern(obj, h, w, r, rng)
    if pattern is not None:
        ink = 0.12 if _luminance(colour) > 0.6 else 0.95  # dark marks on light colours
        draw.over(fill, np.float32(ink), pattern)
    # Soft shading: brighter towards the light, darker on the far side.
    hx, hy = cx + r * 0.6 * math.cos(light), cy + r * 0.6 * math.sin(light)
    yy, xx = draw.pixel_grid(h, w)
    dist = np.hypot(xx - hx, yy - hy) / (2 * r)
    fill *= (1.1 - 0.28 * np.clip(dist, 0, 1))[..., None]
    draw.over(win, fill, mask)


def _pattern(obj: SceneObject, h: int, w: int, r: float,
             rng: np.random.Generator) -> np.ndarray | None:
    angle = obj.rot + rng.uniform(-0.3, 0.3) + (math.pi / 4 if rng.random() < 0.5 else 0.0)
    if obj.pattern == "striped":
        return draw.stripes(h, w, max(8.0, 0.5 * r), angle, rng.random(), duty=0.45)
    if obj.pattern == "dotted":
        period = max(8.0, 0.55 * r)
        return draw.dots(h, w, period, 0.3 * period, angle, tuple(rng.random(2)))
    if obj.pattern == "checkered":
        return draw.checker(h, w, max(10.0, 0.7 * r), obj.rot, rng.random())
    return None


def _luminance(colour: np.ndarray) -> float:
    return float(0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2])


def _shape(d, obj: SceneObject, cx: float, cy: float, r: float) -> None:
    """Paint one shape (255) on a PIL ImageDraw; sizes are tuned to look equally big."""
    s, rot = obj.shape, obj.rot
    if s == "circle":
        d.ellipse([cx - r * 0.92, cy - r * 0.92, cx + r * 0.92, cy + r * 0.92], fill=255)
    elif s == "ring":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        d.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=0)
    elif s == "square":
        d.polygon(draw.regular_polygon(cx, cy, r * 1.08, 4, rot + math.pi / 4), fill=255)
    elif s == "diamond":
        pts = [(cx, cy - r * 1.1), (cx + r * 0.7, cy), (cx, cy + r * 1.1), (cx - r * 0.7, cy)]
        d.polygon(draw.rotate(pts, cx, cy, rot * 0.5), fill=255)
    elif s == "triangle":
        d.polygon(draw.regular_polygon(cx, cy + r * 0.15, r * 1.15, 3, rot), fill=255)
    elif s == "star":
        d.polygon(draw.regular_polygon(cx, cy, r * 1.12, 5, rot, inner=0.48), fill=255)
    elif s in ("hexagon", "pentagon"):
        d.polygon(draw.regular_polygon(cx, cy, r, 6 if s == "hexagon" else 5, rot), fill=255)
    elif s == "cross":
        a, b = r * 0.95, r * 0.34
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b),
               (-a, b), (-a, -b), (-b, -b)]
        d.polygon(draw.rotate([(cx + x, cy + y) for x, y in pts], cx, cy, rot), fill=255)
    elif s == "heart":
        d.polygon(draw.rotate(_heart(cx, cy, r), cx, cy, rot * 0.5), fill=255)
    else:
        raise ValueError(f"unknown shape {s!r}")


def _heart(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    # The classic parametric heart curve, scaled to fit a circle of radius r.
    pts = []
    for k in range(64):
        t = 2 * math.pi * k / 64
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((cx + x * r / 16.5, cy - (y + 2.5) * r / 16.5))
    return pts
