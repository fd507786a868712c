"""Put rendered cards into scenes: phone photos, photocopies, screen recaptures, and negatives.

Every random choice comes from the caller's random.Random (and a numpy Generator seeded from it);
cached textures are built from fixed seeds, so the same seed always gives the same bytes.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .card import (
    CARD_H,
    CARD_W,
    SANS,
    SANS_BOLD,
    SERIF,
    SERIF_BOLD,
    CardImage,
    corner_alpha,
    font,
    ocrb,
)

CONDITIONS: list[str] = [
    "clean", "busy_background", "skew", "rot90", "rot180", "rot270", "perspective", "small", "large",
    "blur", "noise", "jpeg", "overexposed", "underexposed", "glare", "photocopy", "screen", "both_sides",
    "shadow", "colour_copy", "two_cards",
    "neg_document", "neg_bank_card", "neg_desk",
]
NEGATIVES = ("neg_document", "neg_bank_card", "neg_desk")
# Rendered on request only (bench.run --conditions lowq), not in the default cycle: kept out of every tuning and
# of the sets the README's tables were measured on.
EXTRA_CONDITIONS: list[str] = ["lowq", "combo"]
# combo: one geometry and one or two photometric faults together (a tilted card in the dark, a small card with a
# glare), as phones meet them; the single conditions above each vary one thing.
COMBO_GEOMETRY = ("skew", "rot90", "rot180", "rot270", "perspective", "small", "busy_background")
COMBO_FAULTS = ("blur", "noise", "overexposed", "underexposed", "glare", "shadow", "jpeg")
TRUTH_BOX_KEYS = ("name", "sex", "nation", "birth", "address", "address_1", "address_2", "address_3",
                  "number", "authority", "valid_from", "valid_to")

Quad = list[list[float]]  # four [x, y], clockwise from the card's own upright top-left


@dataclass
class Truth:
    side: str  # front | back | both | none
    rotation: int  # 0/90/180/270: the card's clockwise rotation as it appears
    fields: dict[str, str]
    quads: list[Quad]  # one per card; front first for "both"
    image_size: tuple[int, int]  # (width, height)
    boxes: dict[str, Quad] = field(default_factory=dict)  # field ink boxes mapped into the image
    # For the card checks (appended; defaults keep older callers working):
    risk: str = "original"  # original | photocopy | screen | edited | temporary | none (no card)
    card_type: str = "resident"  # resident | temporary | permit | foreign | bank_card | none
    flags: dict[str, bool] = field(default_factory=dict)  # blur, over/under_exposure, glare, cut_off, covered
    portraits: list[Quad] = field(default_factory=list)  # photo box of each card showing one, in image px
    software: str | None = None  # editor name an edited image should carry in its metadata (EXIF Software)
    glare_cover: float = 0.0  # strongest mean wash-out (0-1) of the glare over any field box

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "rotation": self.rotation, "fields": self.fields, "quads": self.quads,
                "image_size": list(self.image_size), "boxes": self.boxes, "risk": self.risk,
                "card_type": self.card_type, "flags": self.flags, "portraits": self.portraits,
                "software": self.software}


@dataclass
class Sample:
    image: np.ndarray  # BGR uint8
    truth: Truth
    condition: str


# ---------------------------------------------------------------- geometry

def _card_corners(w: float = CARD_W, h: float = CARD_H) -> np.ndarray:
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)


def _quad_area(q: np.ndarray) -> float:
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _place(rng: random.Random, size: tuple[int, int], area: float, angle: float,
           tilt: tuple[float, float] = (0.0, 0.0), margin: float = 0.03,
           center: tuple[float, float] | None = None, card: tuple[int, int] = (CARD_W, CARD_H)) -> np.ndarray:
    """Homography card px -> scene px: 3D tilt, in-plane clockwise rotation, scale to an area fraction."""
    W, H = size
    cw, ch = card
    pts = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]], np.float64)
    rx, ry = (math.radians(t) for t in tilt)
    if rx or ry:
        p3 = np.c_[pts, np.zeros(4)]
        ry_m = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
        rx_m = np.array([[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]])
        p3 = p3 @ ry_m.T @ rx_m.T
        f = 1.4 * cw  # a phone's normal lens, card filling a good part of the view
        pts = p3[:, :2] * (f / (f + p3[:, 2:3]))
    a = math.radians(angle)  # image y points down, so positive = clockwise
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = pts @ rot.T
    s = math.sqrt(area * W * H / _quad_area(pts))
    span = pts.max(0) - pts.min(0)
    s = min(s, (1 - 2 * margin) * W / span[0], (1 - 2 * margin) * H / span[1])
    pts *= s
    lo = -pts.min(0) + np.array([margin * W, margin * H])
    hi = np.array([W, H]) - pts.max(0) - np.array([margin * W, margin * H])
    if center is None:
        c = np.array([rng.uniform(lo[0], max(lo[0], hi[0])), rng.uniform(lo[1], max(lo[1], hi[1]))])
    else:
        c = np.clip(np.array(center), lo, np.maximum(lo, hi))
    dst = (pts + c).astype(np.float32)
    return cv2.getPerspectiveTransform(_card_corners(cw, ch), dst)


def _apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _rotation_of(quad: np.ndarray) -> int:
    dx, dy = quad[1] - quad[0]
    return int(round(math.degrees(math.atan2(dy, dx)) / 90) * 90) % 360


def _warp(img: np.ndarray, h: np.ndarray, size: tuple[int, int], src_wh: tuple[int, int]) -> np.ndarray:
    """Warp with an area-averaged pre-shrink when the card ends up much smaller (avoids aliasing)."""
    w, hh = src_wh
    q = _apply_h(h, _card_corners(w, hh))
    scale = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / (2 * w)
    if scale < 0.8:
        nw, nh = max(8, round(w * scale)), max(8, round(hh * scale))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        h = h @ np.diag([w / nw, hh / nh, 1.0])
    return cv2.warpPerspective(img, h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _composite(scene: np.ndarray, img: np.ndarray, alpha: np.ndarray, h: np.ndarray,
               shadow: float = 0.0) -> None:
    """Alpha-blend a warped card into a float32 scene in place, with an optional soft drop shadow."""
    size = (scene.shape[1], scene.shape[0])
    src_wh = (img.shape[1], img.shape[0])
    a = _warp(alpha, h, size, src_wh).astype(np.float32) / 255
    if shadow > 0:
        k = max(3, int(0.02 * max(size)) | 1)
        sh = cv2.GaussianBlur(np.roll(a, (k // 3, k // 4), (0, 1)), (k, k), 0)
        scene *= (1 - shadow * sh)[..., None]
    warped = _warp(img, h, size, src_wh).astype(np.float32)
    scene *= (1 - a)[..., None]
    scene += warped * a[..., None]


# ---------------------------------------------------------------- backgrounds

def _value_noise(nrng: np.random.Generator, size: tuple[int, int], cells: int, octaves: int = 4) -> np.ndarray:
    """Smooth fractal noise in [0, 1] from upscaled random grids."""
    w, h = size
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = cells * 2 ** o
        grid = nrng.random((n + 1, n + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    return np.clip((out - out.min()) / (np.ptp(out) + 1e-6), 0, 1)


@lru_cache(maxsize=16)
def _texture(kind: str, variant: int) -> np.ndarray:
    """Static 1024 px textures (built once from fixed seeds): wood, cloth, stone, carpet."""
    nrng = np.random.default_rng(zlib.crc32(f"{kind}:{variant}".encode()))  # str hash() is salted
    n = 1024
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    if kind == "wood":
        warp = _value_noise(nrng, (n, n), 3) * 60
        rings = np.sin((y + warp + 8 * np.sin(x / 150)) / nrng.uniform(6, 14)) * 0.5 + 0.5
        fine = cv2.resize(nrng.random((n, 48)).astype(np.float32), (n, n))  # long grain streaks
        t = 0.6 * rings + 0.4 * fine
        palettes = (((40, 80, 130), (80, 130, 185)), ((30, 55, 90), (60, 100, 150)), ((110, 150, 190), (150, 190, 225)))
        c0, c1 = (np.array(c, np.float32) for c in palettes[variant % 3])
        img = c0 + t[..., None] * (c1 - c0)
    elif kind == "cloth":
        p = nrng.uniform(5, 9)
        weave = (np.sin(2 * np.pi * x / p) * np.sin(2 * np.pi * y / p)) * 0.5 + 0.5
        t = 0.5 * weave + 0.5 * _value_noise(nrng, (n, n), 16, 3)
        base = nrng.uniform(40, 200, 3).astype(np.float32)
        img = base * (0.75 + 0.4 * t[..., None])
    elif kind == "stone":
        t = _value_noise(nrng, (n, n), 6, 6)
        speck = (nrng.random((n, n)) < 0.02).astype(np.float32)
        base = nrng.uniform(90, 200, 3).astype(np.float32)
        img = base * (0.7 + 0.5 * t[..., None]) - 60 * speck[..., None]
    else:  # carpet / fabric noise
        t = cv2.GaussianBlur(nrng.random((n, n)).astype(np.float32), (0, 0), 1.2)
        t = (t - t.min()) / np.ptp(t)
        base = nrng.uniform(50, 170, 3).astype(np.float32)
        img = base * (0.6 + 0.8 * t[..., None]) * (0.85 + 0.3 * _value_noise(nrng, (n, n), 4, 2)[..., None])
    return np.clip(img, 0, 255).astype(np.uint8)


def _flat_bg(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """Plain table or paper: one light colour with a gentle gradient."""
    W, H = size
    base = np.array(rng.choice(((200, 205, 210), (185, 200, 215), (215, 215, 212), (170, 185, 200),
                                (205, 215, 225), (160, 170, 175), (190, 195, 185), (228, 230, 232))), np.float32)
    base += np.array([rng.uniform(-12, 12) for _ in range(3)], np.float32)
    gx, gy = rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12)
    xs = np.linspace(-0.5, 0.5, W, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, H, dtype=np.float32)
    g = 1 + gx * xs[None, :] + gy * ys[:, None]
    return base[None, None, :] * g[..., None]


_CLUTTER_TEXT = "发票收据快递单号订单日期金额合计电话地址备注会员积分优惠商品名称数量单价超市餐饮停车场欢迎光临谢谢惠顾"


def _clutter(img: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """Things lying around: paper slips with text, lines, coins, pens."""
    H, W = img.shape[:2]
    out = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.randint(2, 6)):  # lines and pens
        p0 = (rng.randrange(W), rng.randrange(H))
        p1 = (p0[0] + rng.randint(-W // 2, W // 2), p0[1] + rng.randint(-H // 2, H // 2))
        col = tuple(rng.randint(0, 255) for _ in range(3))
        cv2.line(out, p0, p1, col, rng.randint(1, 14), cv2.LINE_AA)
    for _ in range(rng.randint(0, 3)):  # coins
        c = (rng.randrange(W), rng.randrange(H))
        r = rng.randint(20, 60)
        cv2.circle(out, c, r, (120, 160, 185), -1, cv2.LINE_AA)
        cv2.circle(out, c, int(r * 0.8), (90, 130, 160), 2, cv2.LINE_AA)
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    for _ in range(rng.randint(1, 3)):  # paper slips with text lines
        x0, y0 = rng.randrange(-100, W - 100), rng.randrange(-100, H - 100)
        sw, sh = rng.randint(200, 420), rng.randint(250, 500)
        draw.rectangle((x0, y0, x0 + sw, y0 + sh), fill=(238, 240, 242))
        f = font(SANS, rng.randint(18, 30))
        yy = y0 + 15
        while yy < y0 + sh - 30:
            k = rng.randint(4, 12)
            txt = "".join(rng.choice(_CLUTTER_TEXT) for _ in range(k))
            if rng.random() < 0.4:
                txt += f" {rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"
            draw.text((x0 + 12, yy), txt, font=f, fill=(60, 60, 60))
            yy += int(f.size * 1.5)
    for _ in range(rng.randint(2, 6)):  # loose text (labels, printed packaging)
        f = font(rng.choice((SANS, SANS_BOLD, SERIF)), rng.randint(20, 70))
        txt = "".join(rng.choice(_CLUTTER_TEXT) for _ in range(rng.randint(2, 7)))
        col = tuple(rng.randint(0, 255) for _ in range(3))
        draw.text((rng.randrange(-50, W), rng.randrange(-20, H)), txt, font=f, fill=col)
    return np.asarray(pil).astype(np.float32)


def _busy_bg(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    W, H = size
    kind = rng.choice(("wood", "wood", "cloth", "stone", "carpet"))
    tex = _texture(kind, rng.randrange(3))
    if rng.random() < 0.5:
        tex = tex.transpose(1, 0, 2)
    # A random crop with the scene's aspect, so the texture scale varies from scene to scene.
    s = rng.uniform(0.5, 1.0)
    if W >= H:
        cw, ch = int(1024 * s), int(1024 * s * H / W)
    else:
        cw, ch = int(1024 * s * W / H), int(1024 * s)
    x0, y0 = rng.randint(0, 1024 - cw), rng.randint(0, 1024 - ch)
    img = cv2.resize(np.ascontiguousarray(tex[y0:y0 + ch, x0:x0 + cw]), (W, H), interpolation=cv2.INTER_LINEAR)
    img = img.astype(np.float32) * rng.uniform(0.8, 1.15)
    if rng.random() < 0.7:
        img = _clutter(img, rng, nrng)
    return img


def _lighting(img: np.ndarray, rng: random.Random, strength: float = 0.12) -> None:
    """Uneven light of a phone photo: a soft gradient and vignette."""
    H, W = img.shape[:2]
    xs = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    ys = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    a = rng.uniform(0, 2 * math.pi)
    g = 1 + strength * (math.cos(a) * xs + math.sin(a) * ys) / 2
    v = 1 - rng.uniform(0, strength) * (xs ** 2 + ys ** 2) / 2
    img *= (g * v)[..., None]


def _cast_shadow(img: np.ndarray, rng: random.Random) -> None:
    """The shadow of the phone or a hand over part of a normally lit scene (the card may lie in it whole)."""
    H, W = img.shape[:2]
    a = rng.uniform(0, 2 * math.pi)
    xs = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    ys = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    d = math.cos(a) * xs + math.sin(a) * ys - rng.uniform(-0.6, 0.5)  # a soft-edged half-plane
    inside = 1 / (1 + np.exp(-d / rng.uniform(0.03, 0.12)))
    img *= (1 - rng.uniform(0.3, 0.5) * inside)[..., None]


def _scene_size(rng: random.Random, portrait: bool = False,
                long_side: tuple[int, int] = (1100, 1600)) -> tuple[int, int]:
    L = rng.randint(*long_side)
    aspect = rng.choice((4 / 3, 4 / 3, 3 / 2, 16 / 9))
    w, h = L, round(L / aspect)
    return (h, w) if portrait else (w, h)


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    # Drawing fresh gaussians for every megapixel was most of the run time; a cached tile read
    # from a random offset looks the same and costs a few milliseconds.
    return np.random.default_rng(20261126).standard_normal((1031, 1031, 3), dtype=np.float32)


def _noise(img: np.ndarray, nrng: np.random.Generator, sigma: float) -> None:
    """Add gaussian noise (sigma in grey levels) in place, to a 2-D or 3-channel float32 image."""
    tile = _noise_tile()
    b = 512  # blocks smaller than the tile, each read from its own random offset
    h, w = img.shape[:2]
    for y in range(0, h, b):
        for x in range(0, w, b):
            bh, bw = min(b, h - y), min(b, w - x)
            ty, tx = (int(v) for v in nrng.integers(0, tile.shape[0] - b + 1, 2))
            block = tile[ty:ty + bh, tx:tx + bw]
            if img.ndim == 2:
                block = block[..., 0]
            img[y:y + bh, x:x + bw] += sigma * block


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- effects

def _text_px(h: np.ndarray) -> float:
    """Height in scene pixels of a ~2.8 mm value glyph on the placed card."""
    q = _apply_h(h, _card_corners())
    px_per_card_px = math.sqrt(_quad_area(q) / (CARD_W * CARD_H))
    return 2.8 * 12 * px_per_card_px


def _blur(img: np.ndarray, rng: random.Random, text_px: float) -> np.ndarray:
    if rng.random() < 0.5:
        sigma = text_px * rng.uniform(0.05, 0.085)
        return cv2.GaussianBlur(img, (0, 0), sigma)
    length = max(3, int(text_px * rng.uniform(0.22, 0.38)))
    k = np.zeros((length, length), np.float32)
    a = rng.uniform(0, math.pi)
    c = (length - 1) / 2
    d = (math.cos(a) * c, math.sin(a) * c)
    cv2.line(k, (round(c - d[0]), round(c - d[1])), (round(c + d[0]), round(c + d[1])), 1.0, 1, cv2.LINE_AA)
    return cv2.filter2D(img, -1, k / k.sum())


@dataclass
class GlareSpot:
    """The highlight _glare drew: centre, axes, angle and strength (for the truth)."""

    cx: float
    cy: float
    ax: float
    ay: float
    t: float
    k: float

    def wash(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """How much of the ink contrast the highlight removes at (xs, ys): k * m in [0, k]."""
        u = ((xs - self.cx) * math.cos(self.t) + (ys - self.cy) * math.sin(self.t)) / self.ax
        v = (-(xs - self.cx) * math.sin(self.t) + (ys - self.cy) * math.cos(self.t)) / self.ay
        return self.k * np.exp(-(u * u + v * v) * 1.2)


def _glare(img: np.ndarray, rng: random.Random, quad: np.ndarray) -> GlareSpot | None:
    H, W = img.shape[:2]
    wts = np.array([rng.random() + 0.2 for _ in range(4)])
    cx, cy = (quad * (wts / wts.sum())[:, None]).sum(0)
    card_w = float(np.linalg.norm(quad[1] - quad[0]))
    ax = card_w * rng.uniform(0.12, 0.3)
    ay = ax * rng.uniform(0.3, 0.75)
    t = rng.uniform(0, math.pi)
    # Work only inside the highlight's bounding box (exp(-1.2 r^2) < 0.5 % beyond r = 2.1).
    reach = 2.1 * ax
    x0, x1 = max(0, int(cx - reach)), min(W, int(cx + reach) + 1)
    y0, y1 = max(0, int(cy - reach)), min(H, int(cy + reach) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = ((xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)) / ax
    v = (-(xs - cx) * math.sin(t) + (ys - cy) * math.cos(t)) / ay
    m = np.exp(-(u * u + v * v) * 1.2)
    # Screen blend towards white: strong enough to wash out the print, weak enough that the text
    # under the highlight keeps some contrast (a reader can still get it).
    k = rng.uniform(0.45, 0.75)
    tint = np.array((0.96, 1.0, 1.0), np.float32)
    roi = np.clip(img[y0:y1, x0:x1], 0, 255)
    img[y0:y1, x0:x1] = 255 - (255 - roi) * (1 - k * m[..., None] * tint)
    return GlareSpot(float(cx), float(cy), ax, ay, t, k)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", _u8(img), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR).astype(np.float32)


# ---------------------------------------------------------------- truth helpers

def _truth_boxes(card: CardImage, h: np.ndarray) -> dict[str, Quad]:
    out: dict[str, Quad] = {}
    for key in TRUTH_BOX_KEYS:
        if key in card.boxes:
            x0, y0, x1, y1 = card.boxes[key]
            q = _apply_h(h, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))
            out[key] = _qlist(q)
    return out


def _qlist(q: np.ndarray) -> Quad:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in q]


def _truth(cards: list[CardImage], hs: list[np.ndarray], size: tuple[int, int]) -> Truth:
    quads = [_apply_h(h, _card_corners()) for h in hs]
    fields: dict[str, str] = {}
    boxes: dict[str, Quad] = {}
    for c, h in zip(cards, hs):
        fields.update(c.fields)
        boxes.update(_truth_boxes(c, h))
    side = cards[0].side if len(cards) == 1 else "both"
    portraits = []
    for c, h in zip(cards, hs):
        if "portrait" in c.boxes:
            x0, y0, x1, y1 = c.boxes["portrait"]
            portraits.append(_qlist(_apply_h(h, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))))
    return Truth(side=side, rotation=_rotation_of(quads[0]), fields=fields, quads=[_qlist(q) for q in quads],
                 image_size=size, boxes=boxes, portraits=portraits)


# Field boxes a glare must wash out to count as "glare over a field" (the label-free value boxes).
GLARE_FIELDS = ("name", "sex", "nation", "birth", "address", "number", "authority", "valid_from", "valid_to")
GLARE_TRUTH_WASH = 0.25  # mean wash-out over a field box from which its print is visibly faded


def glare_cover(spot: GlareSpot | None, boxes: dict[str, Quad]) -> float:
    """Strongest mean wash-out of the highlight over any field box (0 when there is no highlight)."""
    if spot is None:
        return 0.0
    best = 0.0
    for key in GLARE_FIELDS:
        if key not in boxes:
            continue
        q = np.array(boxes[key], np.float32)
        x0, y0 = np.floor(q.min(0)).astype(int)
        x1, y1 = np.ceil(q.max(0)).astype(int)
        if x1 <= x0 or y1 <= y0:
            continue
        ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
        inside = np.zeros(xs.shape, np.uint8)
        cv2.fillPoly(inside, [np.round(q - [x0, y0]).astype(np.int32)], 1)
        w = spot.wash(xs, ys)[inside > 0]
        if w.size:
            best = max(best, float(w.mean()))
    return best


def _set_truth_flags(truth: Truth, condition: str, spot: GlareSpot | None = None) -> None:
    """Risk class and quality flags as made by the condition (exact: the scene was built that way)."""
    truth.risk = "none" if condition in NEGATIVES else {
        "photocopy": "photocopy", "both_sides": "photocopy", "colour_copy": "photocopy",
        "screen": "screen"}.get(condition, "original")
    truth.glare_cover = round(glare_cover(spot, truth.boxes), 3)
    truth.flags = {
        "blur": condition == "blur",
        "over_exposure": condition == "overexposed",
        "under_exposure": condition == "underexposed",
        "glare": truth.glare_cover >= GLARE_TRUTH_WASH,
        "cut_off": False,
        "covered": False,
    }


# ---------------------------------------------------------------- scenes

_PLACEMENT: dict[str, tuple[tuple[float, float], float]] = {
    # condition: (card area fraction range, max |angle| of in-plane jitter)
    "clean": ((0.35, 0.6), 2.0),
    "busy_background": ((0.25, 0.5), 8.0),
    "small": ((0.20, 0.30), 6.0),
    "large": ((0.85, 0.95), 1.0),
    "lowq": ((0.04, 0.09), 12.0),  # a small card far off in a low-resolution, noisy, heavily compressed photo
}


def _photo(card: CardImage, condition: str, rng: random.Random,
           nrng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo of one card on a table; returns the float scene and the card's homography."""
    area, jitter = _PLACEMENT.get(condition, ((0.3, 0.55), 5.0))
    angle = rng.uniform(-jitter, jitter)
    tilt = (rng.uniform(-6, 6), rng.uniform(-6, 6))
    portrait = False
    margin = 0.03
    if condition == "skew":
        angle = rng.choice((-1, 1)) * rng.uniform(3, 25)
    elif condition.startswith("rot"):
        angle = int(condition[3:]) + rng.uniform(-4, 4)
        portrait = condition != "rot180" and rng.random() < 0.8
    elif condition == "perspective":
        strong = rng.uniform(25, 40) * rng.choice((-1, 1))
        weak = rng.uniform(0, 18) * rng.choice((-1, 1))
        tilt = (strong, weak) if rng.random() < 0.5 else (weak, strong)
        area = (0.3, 0.5)
    elif condition == "large":
        tilt = (rng.uniform(-2, 2), rng.uniform(-2, 2))
        margin = 0.008
    elif condition == "clean":
        tilt = (rng.uniform(-3, 3), rng.uniform(-3, 3))
    if condition == "large":
        L = rng.randint(1100, 1500)
        size = (L, round(L / (CARD_W / CARD_H * rng.uniform(1.0, 1.04))))
    else:
        size = _scene_size(rng, portrait)
    busy = condition == "busy_background" or (condition not in ("clean", "large") and rng.random() < 0.3)
    scene = _busy_bg(rng, nrng, size) if busy else _flat_bg(rng, size)
    h = _place(rng, size, rng.uniform(*area), angle, tilt, margin)
    _composite(scene, card.image, card.alpha, h, shadow=rng.uniform(0.15, 0.4))
    _lighting(scene, rng, 0.08 if condition == "clean" else 0.18)
    return scene, h


def _gray_copy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Photocopier tone: grey, light print washed out, dark text kept, the card area slightly grey."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    black, white = rng.uniform(30, 70), rng.uniform(200, 228)
    v = np.clip((g - black) / (white - black), 0, 1) ** rng.uniform(0.8, 1.3)
    tone = rng.uniform(205, 240)  # how grey the card's own background copies
    return v * tone


def _colour_copy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Colour copier tone: colours kept but paler and shifted, light print washed out, dark text kept."""
    f = img.astype(np.float32)
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
    f = g + (f - g) * rng.uniform(0.55, 1.0)  # the copier's gamut: less saturated
    black, white = rng.uniform(25, 60), rng.uniform(205, 232)
    v = np.clip((f - black) / (white - black), 0, 1) ** rng.uniform(0.8, 1.2)
    cast = np.array([rng.uniform(0.94, 1.0) for _ in range(3)], np.float32)
    return v * rng.uniform(215, 245) * cast


def _two_photos(cards: list[CardImage], rng: random.Random,
                nrng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Both sides of a card, two cards lying side by side on a desk, each turned its own way."""
    size = _scene_size(rng, long_side=(1400, 1700))
    W, H = size
    scene = _busy_bg(rng, nrng, size) if rng.random() < 0.3 else _flat_bg(rng, size)
    hs = []
    for i, card in enumerate(cards):
        angle = rng.choice((0, 0, 90, 180, 270)) + rng.uniform(-12, 12)
        center = (W * (0.27 + 0.46 * i) + rng.uniform(-20, 20), H * rng.uniform(0.42, 0.58))
        # a card turned 90 degrees stands taller than wide: smaller, to stay in its half
        area = rng.uniform(0.09, 0.13) if round(angle / 90) % 2 == 0 else rng.uniform(0.07, 0.09)
        h = _place(rng, size, area, angle, (rng.uniform(-5, 5), rng.uniform(-5, 5)), 0.02, center=center)
        _composite(scene, card.image, card.alpha, h, shadow=rng.uniform(0.15, 0.35))
        hs.append(h)
    _lighting(scene, rng, 0.15)
    return scene, hs


Span = tuple[float, float]


def _page(rng: random.Random, n: int, tone: Span, frac: Span, dx: Span, ys: tuple[Span, Span, Span]
          ) -> tuple[int, int, float, float, list[tuple[float, float]]]:
    """An A4 page for a copy: its size, paper tone, each card's area and centre (one card, or two stacked).

    dx: how far a card may sit off the middle (one card, two cards); ys: the height of one card's centre, of
    the upper and of the lower of two (fractions of the page)."""
    W = rng.randint(1040, 1130)
    H = round(W * 1.414)
    t = rng.uniform(*tone)
    card_frac = rng.uniform(*frac)  # enlarged copies are common
    area = card_frac ** 2 * (CARD_H / CARD_W) * W / H
    if n == 1:
        centers = [(W / 2 + rng.uniform(-dx[0], dx[0]), H * rng.uniform(*ys[0]))]
    else:
        centers = [(W / 2 + rng.uniform(-dx[1], dx[1]), H * rng.uniform(*y)) for y in ys[1:]]
    return W, H, t, area, centers


def _copied_edge(alpha: np.ndarray) -> np.ndarray:
    """The card's edge, as a copier prints it: a thin outline (0..1)."""
    return (alpha.astype(np.float32) - cv2.erode(alpha, np.ones((5, 5), np.uint8)).astype(np.float32)) / 255


def _photocopy(cards: list[CardImage], rng: random.Random,
               nrng: np.random.Generator, colour: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    if colour:
        return _colour_photocopy(cards, rng, nrng)
    W, H, tone, area, centers = _page(rng, len(cards), (238, 252), (0.48, 0.6), (40, 30),
                                        ((0.22, 0.45), (0.24, 0.3), (0.64, 0.72)))
    page = np.full((H, W), tone, np.float32)
    hs: list[np.ndarray] = []
    for card, c in zip(cards, centers):
        h = _place(rng, (W, H), area, rng.uniform(-2, 2), center=c)
        grey = _gray_copy(card.image, rng) * (1 - 0.45 * _copied_edge(card.alpha))
        a = card.alpha
        scene3 = cv2.merge([page, page, page])
        _composite(scene3, cv2.merge([grey, grey, grey]), a, h)
        page = np.ascontiguousarray(scene3[..., 0])
        hs.append(h)
    # Toner speckle and the odd streak.
    n = int(W * H * rng.uniform(2e-5, 1.2e-4))
    pts = np.c_[nrng.integers(0, W, n), nrng.integers(0, H, n)]
    for (x, y), r in zip(pts, nrng.integers(1, 3, n)):
        cv2.circle(page, (int(x), int(y)), int(r), float(nrng.uniform(20, 140)), -1)
    if rng.random() < 0.4:
        x = rng.randrange(W)
        page[:, x:x + rng.randint(1, 4)] *= rng.uniform(0.75, 0.92)
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.4, 0.8))
    _noise(page, nrng, rng.uniform(2, 5))
    return cv2.merge([page, page, page]), hs


def _colour_photocopy(cards: list[CardImage], rng: random.Random,
                      nrng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """One card or both sides on an A4 colour copy, photographed or scanned: the page may lie on a desk."""
    W, H, tone, area, centers = _page(rng, len(cards), (236, 252), (0.35, 0.6), (60, 40),
                                        ((0.2, 0.45), (0.22, 0.3), (0.55, 0.7)))
    page = np.full((H, W, 3), tone, np.float32)
    hs: list[np.ndarray] = []
    for card, c in zip(cards, centers):
        h = _place(rng, (W, H), area, rng.uniform(-3, 3), center=c)
        col = _colour_copy(card.image, rng) * (1 - 0.4 * _copied_edge(card.alpha))[..., None]
        _composite(page, col, card.alpha, h)
        hs.append(h)
    n = int(W * H * rng.uniform(1e-5, 8e-5))
    pts = np.c_[nrng.integers(0, W, n), nrng.integers(0, H, n)]
    for (x, y), r in zip(pts, nrng.integers(1, 3, n)):
        cv2.circle(page, (int(x), int(y)), int(r), tuple(float(v) for v in nrng.uniform(40, 160, 3)), -1)
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.4, 0.9))
    _noise(page, nrng, rng.uniform(2, 4))
    if rng.random() < 0.5:
        return page, hs
    scene, hp = _page_on_desk(page, rng)
    return scene, [hp @ h for h in hs]


def _page_on_desk(page: np.ndarray, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """A copy photographed on a desk: the page placed in a scene, and the page's homography into it."""
    H, W = page.shape[:2]
    size = _scene_size(rng, portrait=True, long_side=(1300, 1700))
    scene = _flat_bg(rng, size)
    hp = _place(rng, size, rng.uniform(0.55, 0.8), rng.uniform(-8, 8),
                (rng.uniform(-5, 5), rng.uniform(-5, 5)), 0.02, card=(W, H))
    _composite(scene, page, np.full((H, W), 255, np.uint8), hp, shadow=0.25)
    _lighting(scene, rng, 0.12)
    return scene, hp


@lru_cache(maxsize=4)
def _subpixel_mask(w: int, h: int, lo: int) -> np.ndarray:
    """RGB stripe pattern of an LCD, 3x3 sub-pixels per display pixel (BGR order)."""
    cell = np.full((3, 3, 3), lo, np.uint8)
    for col, ch in enumerate((2, 1, 0)):  # R, G, B stripes left to right
        cell[:, col, ch] = 255
    cell[2] = (cell[2].astype(np.float32) * 0.6).astype(np.uint8)  # gap between pixel rows
    return np.tile(cell, (h, w, 1))


def _screen(card: CardImage, rng: random.Random,
            nrng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A photo of a screen showing a photo of the card: sub-pixel grid, moire, keystone."""
    dw = rng.randint(880, 1080)
    dh = round(dw * rng.uniform(0.62, 0.72))
    shown = _flat_bg(rng, (dw, dh))
    h_card = _place(rng, (dw, dh), rng.uniform(0.4, 0.65), rng.uniform(-4, 4))
    _composite(shown, card.image, card.alpha, h_card)
    lo = rng.randint(110, 170)
    sub = np.repeat(np.repeat(_u8(shown), 3, axis=0), 3, axis=1)
    sub = cv2.multiply(sub, _subpixel_mask(dw, dh, lo), scale=1 / 255)
    W, H = _scene_size(rng, long_side=(1200, 1600))
    # The screen fills most of the frame, seen slightly off-axis.
    sw = W * rng.uniform(0.8, 0.9)
    sh = sw * dh / dw
    if sh > 0.9 * H:
        sh = 0.9 * H
        sw = sh * dw / dh
    x0, y0 = (W - sw) / 2 + rng.uniform(-20, 20), (H - sh) / 2 + rng.uniform(-20, 20)
    j = [rng.uniform(-0.035, 0.035) * sw for _ in range(8)]
    dst = np.array([[x0 + j[0], y0 + j[1]], [x0 + sw + j[2], y0 + j[3]],
                    [x0 + sw + j[4], y0 + sh + j[5]], [x0 + j[6], y0 + sh + j[7]]], np.float32)
    # Area-shrink the sub-pixel image to a bit above the final scale first: the stripes then alias
    # into soft moire bands instead of the full-contrast interference plain point sampling gives.
    final = float(np.linalg.norm(dst[1] - dst[0])) / (3 * dw)
    pre = min(1.0, final * rng.uniform(1.3, 2.0))
    sw_px, sh_px = round(3 * dw * pre), round(3 * dh * pre)
    sub = cv2.resize(sub, (sw_px, sh_px), interpolation=cv2.INTER_AREA)
    h_screen = cv2.getPerspectiveTransform(_card_corners(sw_px, sh_px), dst)
    scene = _flat_bg(rng, (W, H)) * rng.uniform(0.3, 0.6)
    bezel = dst + (dst - dst.mean(0)) * 0.04
    cv2.fillPoly(scene, [np.round(bezel).astype(np.int32)], (18, 18, 20), cv2.LINE_AA)
    # Bilinear sampling of the (pre-shrunk) sub-pixel grid leaves the moire.
    warped = cv2.warpPerspective(sub, h_screen, (W, H), flags=cv2.INTER_LINEAR).astype(np.float32)
    inside = cv2.warpPerspective(np.ones((sh_px, sw_px), np.float32), h_screen, (W, H), flags=cv2.INTER_LINEAR)
    warped *= 765 / (255 + 2 * lo) * rng.uniform(0.85, 1.0)
    scene = scene * (1 - inside[..., None]) + warped * inside[..., None]
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    fx, fy = rng.uniform(0.02, 0.06), rng.uniform(-0.04, 0.04)
    scene += (rng.uniform(3, 7) * np.cos(2 * np.pi * (fx * xs + fy * ys)))[..., None] * inside[..., None]
    scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.5, 0.9))
    scene *= np.array((rng.uniform(1.0, 1.1), 1.0, rng.uniform(0.88, 0.98)), np.float32)  # cool screen cast
    _noise(scene, nrng, rng.uniform(2, 4))
    h_total = h_screen @ np.diag([sw_px / dw, sh_px / dh, 1.0]) @ h_card
    return scene, h_total


# ---------------------------------------------------------------- negatives

_DOC_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你进行年动同工面说"
              "定发经过等政方学法所民得部社主关新水实现理体业务制度管合作规建设标准工作计划单位组织会议"
              "通知要求项目进行情况全面加强提高服务质量安全检查落实责任开展活动时间地点内容人员")


def _document(rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """A printed page of Chinese text (no card on it)."""
    W = rng.randint(1000, 1130)
    H = round(W * 1.414)
    pil = Image.new("RGB", (W, H), tuple([rng.randint(238, 252)] * 3))
    d = ImageDraw.Draw(pil)
    body = font(rng.choice((SERIF, SANS)), rng.randint(24, 32))
    title = font(SERIF_BOLD, rng.randint(40, 52))
    t = "关于" + "".join(rng.choice(_DOC_CHARS) for _ in range(rng.randint(6, 12))) + "的通知"
    tw = d.textlength(t, font=title)
    d.text(((W - tw) / 2, 90), t, font=title, fill=(20, 20, 20))
    margin = 100
    y = 90 + title.size * 2
    per_line = int((W - 2 * margin) // body.size)
    while y < H - 120:
        if rng.random() < 0.15:
            y += body.size  # paragraph gap
            continue
        indent = 2 if rng.random() < 0.2 else 0
        n = per_line - indent - (rng.randint(0, per_line // 2) if rng.random() < 0.2 else 0)
        chars = [rng.choice(_DOC_CHARS) for _ in range(n)]
        for k in range(rng.randint(0, 2)):
            chars[rng.randrange(n)] = "，。、；"[k % 4]
        d.text((margin + indent * body.size, y), "".join(chars), font=body, fill=(25, 25, 25))
        y += int(body.size * rng.uniform(1.5, 1.9))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def _bank_card(rng: random.Random) -> CardImage:
    """A bank-card-sized card with made-up bank name, logo shapes, chip and a 16-digit number."""
    palettes = (((120, 40, 20), (200, 110, 40)), ((30, 30, 150), (60, 90, 220)), ((40, 110, 40), (90, 170, 120)),
                ((30, 30, 30), (90, 90, 100)), ((40, 130, 190), (90, 200, 235)))
    c0, c1 = (np.array(c, np.float32) for c in rng.choice(palettes))
    t = np.linspace(0, 1, CARD_W, dtype=np.float32)[None, :, None] * 0.7 + \
        np.linspace(0, 1, CARD_H, dtype=np.float32)[:, None, None] * 0.3
    img = np.ascontiguousarray((c0 + t * (c1 - c0)).astype(np.uint8))
    for _ in range(3):  # translucent swooshes
        layer = img.copy()
        cv2.circle(layer, (rng.randint(0, CARD_W), rng.randint(-200, CARD_H + 200)), rng.randint(200, 600),
                   tuple(int(v) for v in (c1 * 1.1).clip(0, 255)), -1, cv2.LINE_AA)
        img = cv2.addWeighted(img, 0.8, layer, 0.2, 0)
    # Logo: three overlapping slanted bars of arbitrary colours (no real brand).
    lx, ly = rng.randint(50, 90), rng.randint(40, 60)
    for k, col in enumerate(((40, 40, 220), (200, 120, 30), (60, 160, 60))):
        pts = np.array([[lx + 30 * k + 20, ly], [lx + 30 * k + 60, ly], [lx + 30 * k + 40, ly + 70],
                        [lx + 30 * k, ly + 70]], np.int32)
        cv2.fillPoly(img, [pts], col, cv2.LINE_AA)
    # Chip.
    cx, cy = 110, 250
    cv2.rectangle(img, (cx, cy), (cx + 130, cy + 100), (80, 180, 220), -1, cv2.LINE_AA)
    for yy in (cy + 33, cy + 66):
        cv2.line(img, (cx, yy), (cx + 130, yy), (50, 130, 170), 2)
    cv2.line(img, (cx + 65, cy), (cx + 65, cy + 100), (50, 130, 170), 2)
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    d = ImageDraw.Draw(pil)
    bank = rng.choice(("华信银行", "东方商业银行", "长河农村商业银行", "北辰城市银行", "海川银行", "示例银行"))
    d.text((lx + 130, ly + 5), bank, font=font(SANS_BOLD, 52), fill=(250, 250, 250))
    d.text((CARD_W - 230, ly + 15), rng.choice(("借记卡", "信用卡", "储蓄卡")), font=font(SANS, 40),
           fill=(240, 240, 240))
    digits = [6, 2] + [rng.randint(0, 9) for _ in range(13)]
    total = 0
    for i, dg in enumerate(reversed(digits)):  # Luhn check digit, like a real card number
        v = dg * 2 if i % 2 == 0 else dg
        total += v - 9 if v > 9 else v
    digits.append((10 - total % 10) % 10)
    num = " ".join("".join(map(str, digits[i:i + 4])) for i in range(0, 16, 4))
    f = ocrb(64)
    d.text((82, 412), num, font=f, fill=(40, 40, 40))  # embossing shadow
    d.text((80, 410), num, font=f, fill=(235, 235, 235))
    d.text((430, 510), f"VALID THRU {rng.randint(1, 12):02d}/{rng.randint(26, 35)}", font=ocrb(30),
           fill=(230, 230, 230))
    d.text((80, 570), rng.choice(("ZHANG WEI", "LI NA", "WANG FANG", "LIU YANG", "CHEN JING")), font=ocrb(34),
           fill=(230, 230, 230))
    out = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    return CardImage("none", out, corner_alpha().copy())


def _negative(condition: str, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    if condition == "neg_desk":
        size = _scene_size(rng)
        scene = _busy_bg(rng, nrng, size) if rng.random() < 0.8 else _flat_bg(rng, size)
        _lighting(scene, rng, 0.18)
    elif condition == "neg_bank_card":
        card = _bank_card(rng)
        size = _scene_size(rng)
        scene = _busy_bg(rng, nrng, size) if rng.random() < 0.4 else _flat_bg(rng, size)
        h = _place(rng, size, rng.uniform(0.3, 0.55), rng.uniform(-8, 8), (rng.uniform(-8, 8), rng.uniform(-8, 8)))
        _composite(scene, card.image, card.alpha, h, shadow=0.3)
        _lighting(scene, rng, 0.15)
    else:
        page = _document(rng, nrng)
        if rng.random() < 0.5:  # scanned
            scene = page.astype(np.float32)
        else:  # photographed on a table
            size = _scene_size(rng, portrait=True)
            scene = _busy_bg(rng, nrng, size) if rng.random() < 0.5 else _flat_bg(rng, size)
            ph, pw = page.shape[:2]
            h = _place(rng, size, rng.uniform(0.55, 0.8), rng.uniform(-5, 5),
                       (rng.uniform(-10, 10), rng.uniform(-10, 10)), card=(pw, ph))
            _composite(scene, page, np.full((ph, pw), 255, np.uint8), h, shadow=0.3)
            _lighting(scene, rng, 0.18)
    _noise(scene, nrng, rng.uniform(1.5, 3.5))
    return scene


# ---------------------------------------------------------------- entry point

def capture(front: CardImage | None, back: CardImage | None, condition: str, rng: random.Random) -> Sample:
    """Place the card(s) in a scene made for `condition` and return the image with its ground truth."""
    if condition not in CONDITIONS + EXTRA_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS + EXTRA_CONDITIONS)}")
    nrng = np.random.default_rng(rng.getrandbits(64))
    if condition in NEGATIVES:
        img = _u8(_negative(condition, rng, nrng))
        size = (img.shape[1], img.shape[0])
        truth = Truth("none", 0, {}, [], size, risk="none",
                      card_type="bank_card" if condition == "neg_bank_card" else "none")
        _set_truth_flags(truth, condition)
        return Sample(img, truth, condition)
    if condition in ("both_sides", "two_cards") or (condition == "colour_copy" and front and back):
        if front is None or back is None:
            raise ValueError(f"{condition} needs the front and the back")
        if condition == "two_cards":
            scene, hs = _two_photos([front, back], rng, nrng)
            _noise(scene, nrng, 2.0)
        else:
            scene, hs = _photocopy([front, back], rng, nrng, colour=condition == "colour_copy")
        img = _u8(scene)
        truth = _truth([front, back], hs, (img.shape[1], img.shape[0]))
        _set_truth_flags(truth, condition)
        return Sample(img, truth, condition)
    cards = [c for c in (front, back) if c is not None]
    if not cards:
        raise ValueError(f"{condition} needs a card")
    card = cards[0] if len(cards) == 1 else (front if rng.random() < 0.6 else back)
    assert card is not None
    spot: GlareSpot | None = None
    if condition in ("photocopy", "colour_copy"):
        scene, hs = _photocopy([card], rng, nrng, colour=condition == "colour_copy")
        h = hs[0]
    elif condition == "screen":
        scene, h = _screen(card, rng, nrng)
    else:
        faults = [condition]
        if condition == "combo":
            geometry = rng.choice(COMBO_GEOMETRY)
            faults = rng.sample(COMBO_FAULTS, rng.choice((1, 2)))
            if "overexposed" in faults and "underexposed" in faults:
                faults.remove("overexposed")
            scene, h = _photo(card, geometry, rng, nrng)
        else:
            scene, h = _photo(card, condition, rng, nrng)
        for fault in faults:
            scene, spot = _fault(scene, fault, rng, nrng, h, spot)
        _noise(scene, nrng, 1.5 if condition == "clean" else 2.5)
        if "jpeg" in faults:
            scene = _jpeg(scene, rng.randint(40, 95))
        elif condition == "lowq":
            scene = _jpeg(scene, rng.randint(40, 60))
    img = _u8(scene)
    truth = _truth([card], [h], (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, condition, spot)
    if condition == "combo":
        truth.flags.update({"blur": "blur" in faults, "over_exposure": "overexposed" in faults,
                            "under_exposure": "underexposed" in faults})
    return Sample(img, truth, condition)


def _fault(scene: np.ndarray, condition: str, rng: random.Random, nrng: np.random.Generator, h: np.ndarray,
           spot: GlareSpot | None) -> tuple[np.ndarray, GlareSpot | None]:
    """A photo's photometric fault (blur, noise, exposure, glare, shadow, a far-off card's lens and sensor)."""
    if condition == "blur":
        scene = _blur(scene, rng, _text_px(h))
    elif condition == "noise":
        _noise(scene, nrng, rng.uniform(8, 20))
        if rng.random() < 0.3:  # a little salt and pepper
            m = nrng.random(scene.shape[:2])
            p = rng.uniform(0.002, 0.006)
            scene[m < p / 2] = 0
            scene[m > 1 - p / 2] = 255
    elif condition == "overexposed":
        scene = scene * rng.uniform(1.3, 1.7) + rng.uniform(10, 40)
    elif condition == "underexposed":
        scene = 255 * (np.clip(scene, 0, 255) / 255) ** rng.uniform(1.2, 1.5) * rng.uniform(0.3, 0.5)
        _noise(scene, nrng, rng.uniform(2, 5))
    elif condition == "glare":
        spot = _glare(scene, rng, _apply_h(h, _card_corners()))
    elif condition == "shadow":
        _cast_shadow(scene, rng)
    elif condition == "lowq":  # a far-off card: the lens's blur over a few pixels, then sensor noise
        scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.6, 1.2))
        _noise(scene, nrng, rng.uniform(6, 14))
    return scene, spot
