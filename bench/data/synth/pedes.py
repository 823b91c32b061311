"""mini-pedes: synthetic pedestrians for text-based person search, in two domains.

A ``Person`` is an identity: a fixed set of appearance attributes. A ``PedesShot``
is one image of that person: pose, view, background and light. Style ``"a"`` is
the source domain (outdoor streets, daylight); style ``"b"`` the target domain
(indoor malls, dim or colour-cast light, softer and wider camera shots). The
captions of each style are written in ``pedes_text``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from bench.data.synth import draw
from bench.data.synth.pedes_figure import HAIR, SKIN, draw_figure
from bench.data.synth.pedes_spec import PedesShot, Person

# Bump on any change to sampling, rendering or descriptions: it names the output folders.
GENERATOR_VERSION = {"a": "mini-pedes-a-v1", "b": "mini-pedes-b-v2"}
HEIGHT, WIDTH = 256, 128
STYLES = ("a", "b")
HATS = ("none", "cap", "beanie", "hat")
HAT_COLOURS = ("black", "white", "red", "blue", "gray", "brown")
UPPER = ("t-shirt", "shirt", "jacket", "coat", "sweater")
UPPER_PATTERNS = ("plain", "striped", "checked", "logo")
LOWER = ("trousers", "jeans", "shorts", "skirt")
LOWER_COLOURS = ("black", "gray", "blue", "brown", "white", "green", "red", "pink")
JEANS_COLOURS = ("blue", "black", "gray")
SHOES = ("black", "white", "brown", "gray", "red", "blue")
BAGS = ("none", "backpack", "handbag", "shoulder bag")
BAG_COLOURS = ("black", "brown", "red", "blue", "gray", "white", "pink", "green")
VIEWS = ("front", "back", "side")
POSES = ("standing", "walking")


def sample_person(rng: np.random.Generator, style: str = "a") -> Person:
    """A random identity; both styles share the vocabulary, style b leans indoor (fewer hats)."""
    gender = str(rng.choice(["man", "woman"]))
    woman = gender == "woman"
    long_hair = rng.random() < (0.7 if woman else 0.12)
    hat_p = [0.6, 0.2, 0.1, 0.1] if style == "a" else [0.72, 0.14, 0.08, 0.06]
    hat = str(rng.choice(HATS, p=hat_p))
    lower = str(rng.choice(LOWER, p=[0.3, 0.3, 0.15, 0.25] if woman else [0.4, 0.4, 0.2, 0.0]))
    lower_colour = str(rng.choice(JEANS_COLOURS if lower == "jeans" else LOWER_COLOURS))
    upper_colour = str(rng.choice(list(draw.COLOURS)))
    bag = str(rng.choice(BAGS, p=[0.4, 0.25, 0.15 if woman else 0.05, 0.2 if woman else 0.3]))
    return Person(
        gender=gender, skin=str(rng.choice(list(SKIN))), hair_colour=_hair_colour(rng),
        hair_length="long" if long_hair else "short", hat=hat,
        hat_colour=_unless_none(hat, str(rng.choice(HAT_COLOURS))),
        upper=str(rng.choice(UPPER)), upper_colour=upper_colour,
        upper_pattern=str(rng.choice(UPPER_PATTERNS, p=[0.55, 0.15, 0.15, 0.15])),
        lower=lower, lower_colour=lower_colour, shoes=str(rng.choice(SHOES)), bag=bag,
        bag_colour=_unless_none(bag, str(rng.choice(BAG_COLOURS))),
        build=float(rng.uniform(0.9, 1.12)),
    )


def _unless_none(item: str, colour: str) -> str:
    # The colour is drawn either way (a stable random stream) but is only kept for
    # an item the person has, so that identity keys compare what captions say.
    return "none" if item == "none" else colour


def _hair_colour(rng: np.random.Generator) -> str:
    return str(rng.choice(list(HAIR), p=[0.5, 0.3, 0.12, 0.08]))


def sample_shot(person: Person, rng: np.random.Generator, style: str = "a") -> PedesShot:
    """One image of ``person``: pose, view and scene vary, the person does not."""
    pose = str(rng.choice(POSES))
    swing = pose == "walking" and rng.random() < 0.7
    arms = "swing" if swing else str(rng.choice(["down", "bent"]))
    return PedesShot(person=person, style=style, view=str(rng.choice(VIEWS, p=[0.4, 0.35, 0.25])),
                     pose=pose, facing=int(rng.choice([-1, 1])), arms=arms,
                     seed=int(rng.integers(2**31)))


def render_shot(shot: PedesShot) -> np.ndarray:
    """The shot as a 256 x 128 x 3 uint8 RGB image."""
    rng = np.random.default_rng(shot.seed)
    b = shot.style == "b"
    # Style b: a wider, softer camera: smaller figures placed less centrally.
    scale = rng.uniform(0.8, 0.92) if b else rng.uniform(0.84, 0.94)
    fig_h = scale * HEIGHT
    cx = WIDTH / 2 + rng.uniform(-0.08, 0.08 if b else 0.06) * WIDTH
    feet = HEIGHT - (rng.uniform(0.02, 0.09) if b else rng.uniform(0.02, 0.05)) * HEIGHT
    img = _indoor(rng, feet) if b else _outdoor(rng, feet)
    _ground_shadow(img, cx, feet, fig_h)

    ss = 2  # draw the figure at 2x and box-downsample: antialiased limbs and edges
    colour, alpha = (Image.new(m, (WIDTH * ss, HEIGHT * ss), 0) for m in ("RGB", "L"))
    draw_figure(colour, alpha, shot, cx * ss, (feet - fig_h) * ss, fig_h * ss, rng)
    fig = np.asarray(colour.resize((WIDTH, HEIGHT), Image.Resampling.BOX), np.float32) / 255
    a = np.asarray(alpha.resize((WIDTH, HEIGHT), Image.Resampling.BOX), np.float32) / 255
    img = img * (1 - a[..., None]) + fig  # the figure canvas is black-premultiplied
    return draw.to_uint8(_light(img, rng, b))


def _light(img: np.ndarray, rng: np.random.Generator, b: bool) -> np.ndarray:
    """Camera and light: daylight for style a; dim, colour-cast and soft for style b."""
    side = draw.linear_ramp(HEIGHT, WIDTH, rng.uniform(0, 2 * math.pi))
    img = img * (1 + rng.uniform(0.0, 0.15) * (side - 0.5))[..., None]
    if not b:
        tint = 1 + rng.uniform(-0.03, 0.03, size=3)
        return draw.blur(img * rng.uniform(0.92, 1.1) * tint, rng.uniform(0.0, 0.4))
    cast = [(1.08, 0.99, 0.86), (0.9, 0.99, 1.08), (1.0, 1.03, 0.9)][int(rng.integers(3))]
    img = img * rng.uniform(0.76, 0.92) * np.asarray(cast, np.float32)
    img = 0.93 * img + 0.07 * img.mean()  # a little veiling glare lowers contrast
    return draw.blur(img, rng.uniform(0.4, 0.8))


def _outdoor(rng: np.random.Generator, feet: float) -> np.ndarray:
    """A street: building or hedge behind, pavement below the horizon."""
    horizon = int(feet - rng.uniform(0.25, 0.4) * HEIGHT)
    walls = [(176, 168, 156), (150, 92, 72), (120, 136, 110), (190, 186, 178), (96, 112, 84)]
    wall = draw.rgb(walls[int(rng.integers(len(walls)))])
    ground = draw.rgb([(150, 150, 146), (178, 170, 150), (120, 120, 118)][int(rng.integers(3))])
    img = np.empty((HEIGHT, WIDTH, 3), np.float32)
    noise = draw.smooth_noise(rng, HEIGHT, WIDTH, int(rng.integers(3, 7)))
    img[:horizon] = wall * (0.85 + 0.3 * noise[:horizon, :, None])
    if rng.random() < 0.6:  # windows or panels on the building
        panels = draw.grid_lines(HEIGHT, WIDTH, rng.uniform(28, 48), rng.uniform(3, 6))
        img[:horizon] *= (1 - 0.25 * panels[:horizon])[..., None]
    img[horizon:] = ground * (0.9 + 0.2 * noise[horizon:, :, None])
    kerbs = draw.stripes(HEIGHT - horizon, WIDTH, 40, 0.0, 0.0, 0.06)  # paving joints
    img[horizon:] *= (1 - 0.15 * kerbs)[..., None]
    return img


def _indoor(rng: np.random.Generator, feet: float) -> np.ndarray:
    """A mall corridor: lit shop windows behind, a polished tiled floor below."""
    horizon = int(feet - rng.uniform(0.3, 0.45) * HEIGHT)
    wall = draw.rgb([(92, 84, 80), (70, 74, 86), (110, 100, 84)][int(rng.integers(3))])
    floor = draw.rgb([(196, 188, 176), (150, 140, 130), (206, 206, 210)][int(rng.integers(3))])
    img = np.empty((HEIGHT, WIDTH, 3), np.float32)
    img[:horizon] = wall
    x = int(rng.integers(-30, 10))
    while x < WIDTH:  # shop windows: bright coloured boxes with dark frames
        w = int(rng.integers(30, 60))
        glow = draw.rgb(tuple(int(v) for v in rng.integers(120, 256, size=3)))
        top = int(rng.integers(5, max(6, horizon // 3)))
        img[top:horizon, max(0, x):max(0, x + w)] = glow * 0.9
        img[top:horizon, max(0, x + w - 3):max(0, x + w)] = wall * 0.5
        x += w + int(rng.integers(4, 20))
    tiles = draw.grid_lines(HEIGHT - horizon, WIDTH, rng.uniform(18, 30), 1.5,
                            rng.uniform(-0.3, 0.3))
    img[horizon:] = floor * (1 - 0.3 * tiles)[..., None]
    # Reflection of the lit windows on the polished floor.
    depth = min(HEIGHT - horizon, horizon)
    img[horizon:horizon + depth] += 0.18 * img[horizon - depth:horizon][::-1]
    return img


def _ground_shadow(img: np.ndarray, cx: float, feet: float, fig_h: float) -> None:
    yy, xx = draw.pixel_grid(HEIGHT, WIDTH)
    d = ((xx - cx) / (0.16 * fig_h)) ** 2 + ((yy - feet) / (0.025 * fig_h)) ** 2
    img *= (1 - 0.35 * np.exp(-d))[..., None]
