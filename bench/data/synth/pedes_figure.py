"""Draw one pedestrian figure with PIL: body, garments, hair, hat and bag.

Coordinates are in units of the figure height ``h`` measured from the top of the
head; each part is painted on an RGB canvas and, as 255, on an alpha canvas so
the caller can composite the figure onto its background.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.data.synth import draw
from bench.data.synth.draw import Painter, Point, shade
from bench.data.synth.pedes_spec import PedesShot, Person

SKIN = {"light": (238, 204, 176), "tan": (206, 158, 118), "brown": (156, 106, 70),
        "dark": (98, 64, 44)}
HAIR = {"black": (28, 26, 26), "brown": (98, 62, 36), "blonde": (222, 188, 110),
        "gray": (160, 160, 158)}
# Denim is duller than the pure named colour: jeans should not look like trousers.
JEANS = {"blue": (62, 92, 150), "black": (40, 40, 48), "gray": (112, 116, 126)}


def draw_figure(colour: Image.Image, alpha: Image.Image, shot: PedesShot, cx: float,
                top: float, h: float, rng: np.random.Generator) -> None:
    """Paint ``shot``'s person, feet at ``top + h``, centred on ``cx``."""
    p, pt = shot.person, Painter(colour, alpha)
    g = _Geometry(shot, cx, top, h)
    skin = shade(SKIN[p.skin])
    far = 0.78  # limbs on the far side of a side view are in shade
    if p.hair_length == "long" and shot.view != "back":
        _long_hair(pt, g, p)
    if p.bag == "backpack" and shot.view == "side":
        _backpack(pt, g, p)
    _legs(pt, g, p, skin, far)
    _arms(pt, g, p, skin, far, near=False)
    _torso(pt, g, p, h, rng)
    if p.bag == "backpack" and shot.view != "side":
        _backpack(pt, g, p)
    if p.bag == "shoulder bag":
        strap = shade(p.bag_colour, 0.85)
        pt.limb(g.at(-0.07 * g.side_sign, 0.17), g.at(0.09 * g.side_sign, 0.44), h * 0.014,
                h * 0.014, strap)
    _arms(pt, g, p, skin, far, near=True)
    _head(pt, g, p, skin)
    if p.hair_length == "long" and shot.view == "back":
        _long_hair(pt, g, p)
    _hat(pt, g, p)
    _hand_bags(pt, g, p)


class _Geometry:
    """Key points of the body for one shot."""

    def __init__(self, shot: PedesShot, cx: float, top: float, h: float):
        self.shot, self.cx, self.top, self.h = shot, cx, top, h
        p = shot.person
        woman = p.gender == "woman"
        self.side = shot.view == "side"
        self.face = shot.facing if self.side else 0
        self.side_sign = shot.facing if self.side else 1
        narrow = 0.55 if self.side else 1.0
        self.sw = h * (0.088 if woman else 0.1) * p.build * narrow  # shoulder half-width
        self.ww = h * (0.062 if woman else 0.07) * p.build * narrow  # waist
        self.hw = h * (0.086 if woman else 0.08) * p.build * (0.75 if self.side else 1.0)  # hips
        self.head_rx, self.head_ry = h * 0.047, h * 0.062

    def at(self, dx: float, y: float) -> Point:
        """A point ``dx`` figure-heights right of the centre line, ``y`` down from the top."""
        return (self.cx + dx * self.h, self.top + y * self.h)

    def ankles(self) -> tuple[Point, Point]:
        """(left-or-far, right-or-near) ankle positions."""
        walking, h = self.shot.pose == "walking", self.h
        if self.side:
            stride = 0.12 if walking else 0.02
            return (self.at(-self.face * stride, 0.94), self.at(self.face * stride, 0.95))
        spread = self.hw / h * (0.75 if walking else 0.5)
        lift = 0.012 if walking else 0.0
        return (self.at(-spread, 0.95 - lift), self.at(spread, 0.95))

    def hands(self) -> tuple[tuple[Point, Point], tuple[Point, Point]]:
        """((elbow, hand) far/left, (elbow, hand) near/right)."""
        arms, h = self.shot.arms, self.h
        if self.side:
            swing = 0.1 if arms == "swing" else 0.015
            far = (self.at(-self.face * swing * 0.5, 0.33), self.at(-self.face * swing, 0.47))
            hand = (self.at(self.face * 0.09, 0.38) if arms == "bent"
                    else self.at(self.face * swing, 0.48))
            return far, (self.at(self.face * swing * 0.5, 0.33), hand)
        out = self.sw / h + 0.012
        lift = 0.025 if arms == "swing" else 0.0
        left = (self.at(-out, 0.33), self.at(-out - 0.01, 0.48 - lift))
        right_hand = self.at(out - 0.05, 0.39) if arms == "bent" else self.at(out + 0.01, 0.48)
        return left, (self.at(out, 0.33), right_hand)


def _legs(pt: Painter, g: _Geometry, p: Person, skin: tuple[int, int, int], far: float) -> None:
    h = g.h
    hip_y = 0.47
    cloth = shade(JEANS.get(p.lower_colour, draw.COLOURS[p.lower_colour])
                 if p.lower == "jeans" else p.lower_colour)
    for k, ankle in enumerate(g.ankles()):
        dim = far if g.side and k == 0 else 1.0
        hip = g.at((-1 if k == 0 else 1) * g.hw / h * 0.5 * (0.3 if g.side else 1.0), hip_y)
        knee = ((hip[0] + ankle[0]) / 2, (hip[1] + ankle[1]) / 2)
        covered = p.lower in ("trousers", "jeans")
        leg_col = shade(cloth, dim) if covered else shade(skin, dim)
        pt.limb(hip, knee, h * 0.068, h * 0.052, leg_col)
        pt.limb(knee, ankle, h * 0.052, h * 0.04 if not covered else h * 0.046, leg_col)
        if p.lower == "shorts":
            pt.limb(hip, (hip[0] * 0.6 + knee[0] * 0.4, hip[1] * 0.6 + knee[1] * 0.4 + h * 0.04),
                    h * 0.078, h * 0.066, shade(cloth, dim))
        if p.lower == "jeans":  # a light outer seam
            pt.limb((hip[0] + (k - 0.5) * h * 0.05, hip[1] + h * 0.03),
                    (ankle[0] + (k - 0.5) * h * 0.03, ankle[1] - h * 0.01),
                    h * 0.006, h * 0.006, shade(cloth, 1.3))
        toe = ankle[0] + (g.face * h * 0.025)
        pt.ellipse(toe, ankle[1] + h * 0.02, h * (0.04 if g.side else 0.028), h * 0.02,
                   shade(p.shoes, dim))
    if p.lower == "skirt":
        pt.poly([g.at(-g.ww / h, 0.42), g.at(g.ww / h, 0.42), g.at(g.hw / h * 1.45, 0.68),
                 g.at(-g.hw / h * 1.45, 0.68)], shade(cloth))


def _garment_texture(p: Person, size: tuple[int, int], h: float,
                     rng: np.random.Generator) -> Image.Image:
    base = draw.rgb(p.upper_colour)
    ink = np.float32(0.1 if (base @ np.float32([0.3, 0.59, 0.11])) > 0.55 else 0.95)
    w_, h_ = size
    tex = np.broadcast_to(base, (h_, w_, 3)).copy()
    if p.upper_pattern == "striped":
        draw.over(tex, ink, draw.stripes(h_, w_, h * 0.05, np.pi / 2, rng.random(), 0.4))
    elif p.upper_pattern == "checked":
        lines = np.maximum(draw.stripes(h_, w_, h * 0.06, 0.0, 0.0, 0.25),
                           draw.stripes(h_, w_, h * 0.06, np.pi / 2, 0.0, 0.25))
        draw.over(tex, ink * 0.8 + base * 0.2, lines * 0.85)
    return Image.fromarray(draw.to_uint8(tex))


def _torso(pt: Painter, g: _Geometry, p: Person, h: float, rng: np.random.Generator) -> None:
    hem = {"coat": 0.68, "jacket": 0.5}.get(p.upper, 0.49)
    flare = 1.25 if p.upper == "coat" else 1.02
    body = [g.at(-g.sw / h, 0.17), g.at(g.sw / h, 0.17), g.at(g.ww / h, 0.38),
            g.at(g.hw / h * flare, hem), g.at(-g.hw / h * flare, hem), g.at(-g.ww / h, 0.38)]
    pt.ellipse(g.cx, g.top + 0.15 * h, h * 0.02, h * 0.03, shade(SKIN[p.skin]))  # neck
    if p.upper_pattern in ("striped", "checked"):
        pt.patterned([body], _garment_texture(p, pt.colour.size, h, rng))
    else:
        pt.poly(body, shade(p.upper_colour))
    dark = shade(p.upper_colour, 0.6)
    front = g.shot.view == "front"
    if p.upper == "t-shirt" and front:
        pt.ellipse(g.cx, g.top + 0.17 * h, h * 0.025, h * 0.015, shade(SKIN[p.skin]))
    elif p.upper == "shirt" and front:
        pt.poly([g.at(-0.03, 0.16), g.at(0.0, 0.2), g.at(-0.005, 0.165)], (236, 236, 232))
        pt.poly([g.at(0.03, 0.16), g.at(0.0, 0.2), g.at(0.005, 0.165)], (236, 236, 232))
    elif p.upper in ("jacket", "coat") and front:
        pt.limb(g.at(0, 0.18), g.at(0, hem - 0.01), h * 0.008, h * 0.008, dark)
    elif p.upper == "sweater":
        pt.poly([g.at(-g.hw / h, hem - 0.025), g.at(g.hw / h, hem - 0.025), g.at(g.hw / h, hem),
                 g.at(-g.hw / h, hem)], dark)
    if p.upper_pattern == "logo" and not g.side:
        mark = shade("white") if sum(shade(p.upper_colour)) < 450 else shade("black")
        pt.poly(draw.regular_polygon(g.cx, g.top + 0.27 * h, h * 0.035, 5, 0.0, 0.45), mark)


def _arms(pt: Painter, g: _Geometry, p: Person, skin: tuple[int, int, int], far: float,
          near: bool) -> None:
    h = g.h
    for k, (elbow, hand) in enumerate(g.hands()):
        if g.side and (k == 1) != near:
            continue
        if not g.side and not near:
            continue
        dim = far if g.side and k == 0 else 1.0
        shoulder = g.at(((-1 if k == 0 else 1) * (g.sw / h - 0.02)) if not g.side else 0, 0.19)
        sleeve = shade(p.upper_colour, dim)
        pt.limb(shoulder, elbow, h * 0.05, h * 0.042, sleeve)
        short = p.upper == "t-shirt"
        pt.limb(elbow, hand, h * 0.04, h * 0.034, shade(skin, dim) if short else sleeve)
        if short:  # the sleeve ends above the elbow
            mid = (shoulder[0] * 0.35 + elbow[0] * 0.65, shoulder[1] * 0.35 + elbow[1] * 0.65)
            pt.limb(shoulder, mid, h * 0.056, h * 0.05, sleeve)
            pt.limb(mid, elbow, h * 0.038, h * 0.036, shade(skin, dim))
        pt.ellipse(*hand, h * 0.021, h * 0.023, shade(skin, dim))


def _head(pt: Painter, g: _Geometry, p: Person, skin: tuple[int, int, int]) -> None:
    h, rx, ry = g.h, g.head_rx, g.head_ry
    hx, hy = g.cx + g.face * h * 0.006, g.top + ry
    hair = shade(HAIR[p.hair_colour])
    pt.ellipse(hx, hy, rx * 1.08, ry * 1.05, hair)  # the hair is the back of the head
    if g.shot.view == "back":
        return
    fx = hx + g.face * rx * 0.3
    face_top = 0.42 if p.hair_length == "long" else 0.32  # how far the fringe comes down
    pt.ellipse(fx, hy + ry * face_top * 0.5, rx * (0.75 if g.side else 0.9),
               ry * (1 - face_top * 0.5), shade(skin))


def _long_hair(pt: Painter, g: _Geometry, p: Person) -> None:
    h, rx = g.h, g.head_rx
    back = -g.face * rx * 0.5
    x0, x1 = g.cx + back - rx * 1.12, g.cx + back + rx * 1.12
    pt.poly([(x0, g.top + h * 0.06), (x1, g.top + h * 0.06), (x1 + h * 0.008, g.top + h * 0.27),
             (x0 - h * 0.008, g.top + h * 0.27)], shade(HAIR[p.hair_colour]))


def _hat(pt: Painter, g: _Geometry, p: Person) -> None:
    if p.hat == "none":
        return
    h, rx, ry = g.h, g.head_rx, g.head_ry
    col = shade(p.hat_colour)
    hx, top = g.cx + g.face * h * 0.006, g.top
    box = [hx - rx * 1.12, top - ry * 0.1, hx + rx * 1.12, top + ry * 1.3]
    pt.pieslice(box, 180, 360, col)
    brim_y = top + ry * 0.6
    if p.hat == "hat":
        pt.ellipse(hx, brim_y, rx * 1.9, ry * 0.18, shade(p.hat_colour, 0.85))
    elif p.hat == "cap" and g.shot.view != "back":
        reach = rx * 1.5 if g.side else rx * 1.15
        cx = hx + g.face * rx * 0.7
        pt.ellipse(cx, brim_y, reach, ry * 0.14, shade(p.hat_colour, 0.8))
    elif p.hat == "beanie":
        pt.poly([(hx - rx * 1.12, brim_y - ry * 0.2), (hx + rx * 1.12, brim_y - ry * 0.2),
                 (hx + rx * 1.12, brim_y + ry * 0.05), (hx - rx * 1.12, brim_y + ry * 0.05)],
                shade(p.hat_colour, 0.8))


def _backpack(pt: Painter, g: _Geometry, p: Person) -> None:
    h, col = g.h, shade(p.bag_colour)
    view = g.shot.view
    if view == "front":  # only the straps show
        for s in (-1, 1):
            pt.limb(g.at(s * g.sw / h * 0.55, 0.17), g.at(s * g.sw / h * 0.5, 0.36),
                    h * 0.018, h * 0.016, shade(p.bag_colour, 0.9))
        return
    x = -g.face * (g.sw / h + 0.045) if view == "side" else 0.0
    half = 0.045 if view == "side" else 0.068
    pt.poly([g.at(x - half, 0.19), g.at(x + half, 0.19), g.at(x + half, 0.42),
             g.at(x - half, 0.42)], col)
    pt.poly([g.at(x - half * 0.7, 0.31), g.at(x + half * 0.7, 0.31), g.at(x + half * 0.7, 0.4),
             g.at(x - half * 0.7, 0.4)], shade(p.bag_colour, 0.75))


def _hand_bags(pt: Painter, g: _Geometry, p: Person) -> None:
    if p.bag not in ("handbag", "shoulder bag"):
        return
    h, col = g.h, shade(p.bag_colour)
    if p.bag == "handbag":
        hx, hy = g.hands()[1][1]
        handle = shade(p.bag_colour, 0.7)
        pt.limb((hx - h * 0.02, hy), (hx + h * 0.02, hy), h * 0.008, h * 0.008, handle)
        pt.poly([(hx - h * 0.04, hy + h * 0.02), (hx + h * 0.04, hy + h * 0.02),
                 (hx + h * 0.045, hy + h * 0.08), (hx - h * 0.045, hy + h * 0.08)], col)
    elif p.bag == "shoulder bag":
        x = g.hw / h * (0.4 if g.side else 1.0) * g.side_sign
        pt.poly([g.at(x - 0.03, 0.42), g.at(x + 0.05, 0.42), g.at(x + 0.05, 0.52),
                 g.at(x - 0.03, 0.52)], col)
