"""Draw the two sides of the card, upright, at 12 px/mm, following the real layout.

Coordinates below are millimetres from the card's top-left corner (85.6 x 54 mm).
Everything is drawn from shapes and installed fonts: no external images, no real photos.
"""

from __future__ import annotations

import glob
import math
import random
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .identity import Identity

PX_PER_MM = 12.0
CARD_MM = (85.6, 54.0)
CARD_W = round(CARD_MM[0] * PX_PER_MM)  # 1027
CARD_H = round(CARD_MM[1] * PX_PER_MM)  # 648
CORNER_MM = 3.18

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in card pixels

_NOTO = "/usr/share/fonts/opentype/noto/"
SANS = (_NOTO + "NotoSansCJK-Regular.ttc", 2)  # index 2 = Simplified Chinese
SANS_BOLD = (_NOTO + "NotoSansCJK-Bold.ttc", 2)
SERIF = (_NOTO + "NotoSerifCJK-Regular.ttc", 2)
SERIF_BOLD = (_NOTO + "NotoSerifCJK-Bold.ttc", 2)
ZENHEI = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0)
MICROHEI = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0)
UMING = ("/usr/share/fonts/truetype/arphic/uming.ttc", 0)  # AR PL UMing CN (明体)
UKAI = ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0)  # AR PL UKai CN (楷体)
# 黑体 stand-ins for the values; a card uses one of them throughout.
HEI_FONTS = (SANS, ZENHEI, MICROHEI)
HEI_WEIGHTS = (0.45, 0.35, 0.20)

# Sizes (font em in px at 12 px/mm). Ink heights come out at: name ~3.3 mm, values ~2.8 mm,
# labels ~2.5 mm, number digits ~3.5 mm.
NAME_PX = 41
VALUE_PX = 35
LABEL_PX = 31
NUMBER_PX = 51
NUMBER_PITCH_MM = 2.92
VALUE_X_MM = 16.5
ADDRESS_Y_MM = (26.0, 30.5, 35.0)
NAME_MAX_X_MM = 52.0
BACK_VALUE_X_MM = 32.0
BACK_MAX_X_MM = 82.0
PORTRAIT_MM = (55.0, 6.0, 81.0, 38.0)


def _mm(v: float) -> float:
    return v * PX_PER_MM


@lru_cache(maxsize=1)
def ocrb_path() -> str:
    """The OCR-B file from Debian's fonts-ocr-b (plain style, not sharp/outline/inverted)."""
    hits = sorted(glob.glob("/usr/share/fonts/**/OCRB.otf", recursive=True))
    if hits:
        return hits[0]
    out = subprocess.run(["fc-list", ":family=OCR B", "file"], capture_output=True, text=True).stdout
    files = sorted(line.split(":")[0] for line in out.splitlines() if line.strip())
    if not files:
        raise FileNotFoundError("OCR-B font not found: install the Debian package fonts-ocr-b")
    return files[0]


@lru_cache(maxsize=256)  # the varied layout uses many sizes of several faces
def font(spec: tuple[str, int], size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec[0], size, index=spec[1])


@lru_cache(maxsize=8)
def ocrb(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(ocrb_path(), size)


@lru_cache(maxsize=128)
def _vcenter(f: ImageFont.FreeTypeFont, ref: str) -> float:
    """Offset from the draw origin to the ink centre of a reference glyph (aligns fonts by ink)."""
    bb = f.getbbox(ref)
    return (bb[1] + bb[3]) / 2


@dataclass
class CardImage:
    """One upright card side: BGR image, alpha (rounded corners) and field boxes in card pixels."""

    side: str  # "front" | "back"
    image: np.ndarray
    alpha: np.ndarray
    boxes: dict[str, Box] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


def _union(a: Box | None, b: Box) -> Box:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class _Writer:
    """Draws text by ink centre line and records ink boxes (img None: only measures, draws nothing)."""

    def __init__(self, img: Image.Image | None) -> None:
        self.measure = img is None
        self.draw = ImageDraw.Draw(img if img is not None else Image.new("RGB", (1, 1)))
        self.boxes: dict[str, Box] = {}
        self.hide: tuple[int, int, int] | None = None  # ink of this colour is measured, not drawn

    def text(self, key: str | None, x_mm: float, cy_mm: float, text: str, f: ImageFont.FreeTypeFont,
             fill: tuple[int, int, int], pitch_px: float | None = None, ref: str = "国") -> Box:
        x, cy = _mm(x_mm), _mm(cy_mm)
        y = cy - _vcenter(f, ref)
        box: Box | None = None
        draw = not self.measure and fill != self.hide
        if pitch_px is None:
            if draw:
                self.draw.text((x, y), text, font=f, fill=fill)
            box = tuple(round(v) for v in self.draw.textbbox((x, y), text, font=f))  # type: ignore[assignment]
        else:  # fixed pitch, each glyph centred in its cell (number, spaced titles)
            for i, ch in enumerate(text):
                cx = x + i * pitch_px + (pitch_px - f.getlength(ch)) / 2
                if draw:
                    self.draw.text((cx, y), ch, font=f, fill=fill)
                if ch.strip():
                    box = _union(box, tuple(round(v) for v in self.draw.textbbox((cx, y), ch, font=f)))  # type: ignore[arg-type]
        assert box is not None
        if key:
            self.boxes[key] = _union(self.boxes.get(key), box)
        return box


def _fit(spec: tuple[str, int], size: int, text: str, max_px: float) -> ImageFont.FreeTypeFont:
    """Shrink the font until the text fits, as the card printer does for long names."""
    f = font(spec, size)
    width = f.getlength(text)
    if width <= max_px:
        return f
    # Width scales with size: jump straight there (loading every size of a CJK font is slow).
    size = max(12, int(size * max_px / width))
    f = font(spec, size)
    while f.getlength(text) > max_px and size > 12:
        size -= 1
        f = font(spec, size)
    return f


# ---------------------------------------------------------------- static art (cached)

@lru_cache(maxsize=1)
def corner_alpha() -> np.ndarray:
    """Rounded-rectangle alpha, antialiased by drawing at 4x and downsampling."""
    k = 4
    big = Image.new("L", (CARD_W * k, CARD_H * k), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, CARD_W * k - 1, CARD_H * k - 1), radius=round(_mm(CORNER_MM) * k), fill=255)
    return cv2.resize(np.asarray(big), (CARD_W, CARD_H), interpolation=cv2.INTER_AREA)


def _wave_lines(phase: np.ndarray, width: float) -> np.ndarray:
    """Thin soft lines where phase crosses integers (guilloche strokes)."""
    frac = phase - np.round(phase)
    return np.exp(-(frac / width) ** 2)


@lru_cache(maxsize=8)
def _background(side: str, variant: int) -> np.ndarray:
    """Light security print: tinted paper, guilloche waves, a rosette; back adds the Great Wall."""
    r = np.random.default_rng(1000 + variant * 7 + (side == "back"))
    h, w = CARD_H, CARD_W
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (247, 248, 243)  # RGB, faintly warm paper
    # Large soft tints: light blue at one end, pink in the middle, pale yellow-green elsewhere.
    for color, cx, cy, s in (
        ((-14, -6, 2), r.uniform(0.1, 0.3) * w, r.uniform(0.2, 0.8) * h, 0.35 * w),
        ((2, -10, -6), r.uniform(0.4, 0.7) * w, r.uniform(0.3, 0.7) * h, 0.30 * w),
        ((-6, 0, -10), r.uniform(0.7, 0.95) * w, r.uniform(0.2, 0.8) * h, 0.30 * w),
    ):
        g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
        img += g[..., None] * np.array(color, np.float32)
    # Two families of wavy lines, blue-ish and pink-ish.
    a1, p1 = r.uniform(6, 14), r.uniform(60, 120)
    ph = y / r.uniform(9, 13) + a1 / 10 * np.sin(2 * np.pi * x / p1 + r.uniform(0, 6))
    img -= _wave_lines(ph, 0.09)[..., None] * np.array((16, 8, 2), np.float32)
    a2, p2 = r.uniform(6, 14), r.uniform(70, 140)
    ph = x / r.uniform(10, 15) + a2 / 10 * np.sin(2 * np.pi * y / p2 + r.uniform(0, 6))
    img -= _wave_lines(ph, 0.08)[..., None] * np.array((3, 12, 8), np.float32)
    # Rosette of modulated rings.
    cx, cy = r.uniform(0.35, 0.6) * w, r.uniform(0.35, 0.65) * h
    rad = np.hypot(x - cx, y - cy)
    theta = np.arctan2(y - cy, x - cx)
    ph = (rad + 9 * np.sin(theta * int(r.integers(8, 16)))) / 14
    fade = np.clip(1.2 - rad / (0.45 * w), 0, 1)
    img -= (_wave_lines(ph, 0.07) * fade)[..., None] * np.array((10, 6, 3), np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if side == "back":
        _great_wall(img, r)
    return img


def _great_wall(img: np.ndarray, r: np.random.Generator) -> None:
    """A faint wall winding over hills in the lower part of the back."""
    h, w = img.shape[:2]
    xs = np.arange(0, w + 8, 8, dtype=np.float32)
    base = h * r.uniform(0.74, 0.82)
    ridge = base + 28 * np.sin(xs / r.uniform(80, 110) + r.uniform(0, 6)) + 12 * np.sin(xs / 37)
    hills = np.concatenate([np.stack([xs, ridge], 1), [[w, h], [0, h]]]).astype(np.int32)
    layer = img.copy()
    cv2.fillPoly(layer, [hills], (236, 232, 226), cv2.LINE_AA)
    wall = np.stack([xs, ridge - 6], 1).astype(np.int32)
    cv2.polylines(layer, [wall], False, (222, 214, 206), 9, cv2.LINE_AA)
    for xi in range(0, w, 16):  # crenellations
        yi = int(np.interp(xi, xs, ridge)) - 12
        cv2.rectangle(layer, (xi, yi - 5), (xi + 7, yi), (222, 214, 206), -1)
    for _ in range(4):  # watch towers
        xi = int(r.uniform(0.05, 0.95) * w)
        yi = int(np.interp(xi, xs, ridge))
        cv2.rectangle(layer, (xi - 14, yi - 42), (xi + 14, yi - 6), (220, 212, 204), -1)
    np.copyto(img, cv2.addWeighted(img, 0.35, layer, 0.65, 0))


def _star(cx: float, cy: float, r: float, rot: float = -math.pi / 2) -> np.ndarray:
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.38
        a = rot + i * math.pi / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return np.array(pts, np.float32)


def _poly(img: np.ndarray, pts: np.ndarray, color: tuple[int, int, int]) -> None:
    # Shift 4 gives sub-pixel precision for antialiased edges.
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], color, cv2.LINE_AA, shift=4)


def paste_emblem(img: np.ndarray, ex: int, ey: int) -> tuple[int, int, int, int]:
    """Blend the emblem into img with its top-left at (ex, ey); returns its box (x0, y0, x1, y1)."""
    em, ea = _emblem()
    eh, ew = ea.shape
    a = ea.astype(np.float32)[..., None] / 255
    region = img[ey:ey + eh, ex:ex + ew].astype(np.float32)
    img[ey:ey + eh, ex:ex + ew] = (region * (1 - a) + em.astype(np.float32) * a).astype(np.uint8)
    return ex, ey, ex + ew, ey + eh


@lru_cache(maxsize=1)
def _emblem() -> tuple[np.ndarray, np.ndarray]:
    """Stylized red/gold national emblem (RGB tile + alpha), drawn from shapes at 2x."""
    k = 2
    size = int(_mm(15.6)) * k
    c = size / 2
    R = size * 0.48
    img = np.zeros((size, size, 3), np.uint8)
    mask = np.zeros((size, size), np.uint8)
    gold, red, dark = (238, 190, 60), (214, 28, 34), (190, 20, 26)
    cv2.circle(mask, (int(c), int(c)), int(R), 255, -1, cv2.LINE_AA)
    cv2.circle(img, (int(c), int(c)), int(R), gold, -1, cv2.LINE_AA)
    cv2.circle(img, (int(c), int(c)), int(R * 0.74), red, -1, cv2.LINE_AA)
    # Wheat grains along the rim, leaving the bottom for the gear and ribbon.
    for row, rr in enumerate((0.80, 0.92)):
        for deg in range(-235, 55, 11):
            a = math.radians(deg + row * 5)
            gx, gy = c + R * rr * math.cos(a), c + R * rr * math.sin(a)
            cv2.ellipse(img, (int(gx), int(gy)), (int(R * 0.085), int(R * 0.04)),
                        math.degrees(a) + 90 + 25, 0, 360, dark, 2, cv2.LINE_AA)
    # Tiananmen: platform, gate wall with doors, hall, two-tier roof.
    for x0, y0, x1, y1 in ((-0.55, 0.30, 0.55, 0.40), (-0.45, 0.10, 0.45, 0.30), (-0.36, -0.06, 0.36, 0.04)):
        cv2.rectangle(img, (int(c + x0 * R), int(c + y0 * R)), (int(c + x1 * R), int(c + y1 * R)), gold, -1)
    for i in range(-2, 3):
        dx = c + i * 0.16 * R
        cv2.rectangle(img, (int(dx - 0.035 * R), int(c + 0.17 * R)), (int(dx + 0.035 * R), int(c + 0.30 * R)),
                      red, -1)
    for yt, half_top, half_bot, hgt in ((0.10, 0.40, 0.52, 0.07), (-0.06, 0.30, 0.44, 0.08)):
        roof = np.array([(c - half_bot * R, c + yt * R), (c + half_bot * R, c + yt * R),
                         (c + half_top * R, c + (yt - hgt) * R), (c - half_top * R, c + (yt - hgt) * R)], np.float32)
        _poly(img, roof, gold)
    # One large and four small stars above the gate.
    _poly(img, _star(c, c - 0.42 * R, 0.17 * R), gold)
    for ang in (-150, -120, -60, -30):
        a = math.radians(ang)
        _poly(img, _star(c + 0.40 * R * math.cos(a), c - 0.42 * R + 0.40 * R * math.sin(a) + 0.20 * R,
                         0.065 * R), gold)
    # Gear and red ribbon at the bottom.
    gc = (int(c), int(c + 0.78 * R))
    for t in range(12):
        a = t * math.pi / 6
        tooth = np.array([(math.cos(a + d) * rr, math.sin(a + d) * rr) for d, rr in
                          ((-0.12, 0.18), (0.12, 0.18), (0.12, 0.25), (-0.12, 0.25))], np.float32) * R
        _poly(img, tooth + np.array(gc, np.float32), gold)
    cv2.circle(img, gc, int(0.19 * R), gold, -1, cv2.LINE_AA)
    cv2.circle(img, gc, int(0.07 * R), red, -1, cv2.LINE_AA)
    ribbon = np.array([(c - 0.95 * R, c + 0.62 * R), (c - 0.6 * R, c + 0.78 * R), (c - 0.25 * R, c + 0.70 * R),
                       (c - 0.25 * R, c + 0.80 * R), (c - 0.6 * R, c + 0.90 * R), (c - 0.90 * R, c + 0.78 * R)],
                      np.float32)
    _poly(img, ribbon, red)
    ribbon[:, 0] = 2 * c - ribbon[:, 0]
    _poly(img, ribbon, red)
    out = cv2.resize(img, (size // k, size // k), interpolation=cv2.INTER_AREA)
    a = cv2.resize(mask, (size // k, size // k), interpolation=cv2.INTER_AREA)
    return out, a


def _portrait(rng: random.Random, w: int, h: int, female: bool) -> np.ndarray:
    """A face-like drawing (not a photo): plain light background, shoulders, neck, head, hair."""
    bg = rng.choice(((246, 247, 249), (236, 242, 250), (242, 242, 240), (232, 238, 246)))
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    skin = rng.choice(((236, 200, 175), (222, 184, 150), (200, 160, 125), (240, 212, 190), (180, 135, 100)))
    hair = rng.choice(((25, 22, 20), (40, 32, 28), (60, 45, 35), (90, 85, 85)))
    cloth = rng.choice(((30, 35, 50), (20, 20, 22), (70, 72, 80), (240, 240, 240), (110, 30, 35), (40, 70, 110)))
    cx = w / 2 + rng.uniform(-8, 8)
    hx, hy = w * rng.uniform(0.21, 0.25), h * rng.uniform(0.22, 0.25)
    cy = h * rng.uniform(0.38, 0.42)
    long_hair = rng.random() < (0.7 if female else 0.05)

    def ell(center: tuple[float, float], axes: tuple[float, float], color: tuple[int, int, int],
            a0: int = 0, a1: int = 360, thick: int = -1) -> None:
        cv2.ellipse(img, (int(center[0]), int(center[1])), (max(1, int(axes[0])), max(1, int(axes[1]))), 0,
                    a0, a1, color, thick, cv2.LINE_AA)

    if long_hair:
        cv2.rectangle(img, (int(cx - hx * 1.25), int(cy)), (int(cx + hx * 1.25), int(cy + hy * 1.6)), hair, -1)
    neck = tuple(int(v * 0.9) for v in skin)
    cv2.rectangle(img, (int(cx - hx * 0.45), int(cy + hy * 0.6)), (int(cx + hx * 0.45), int(h * 0.8)), neck, -1)
    ell((cx, h * 1.03), (w * rng.uniform(0.42, 0.5), h * 0.27), cloth)  # shoulders
    vneck = np.array([(cx - hx * 0.45, h * 0.76), (cx + hx * 0.45, h * 0.76), (cx, h * 0.86)], np.float32)
    _poly(img, vneck, neck)
    ell((cx - hx, cy + hy * 0.05), (hx * 0.16, hy * 0.22), skin)  # ears
    ell((cx + hx, cy + hy * 0.05), (hx * 0.16, hy * 0.22), skin)
    ell((cx, cy - hy * 0.12), (hx * 1.06, hy * 1.0), hair)  # hair mass behind the face
    ell((cx, cy + hy * 0.08), (hx, hy * 0.98), skin)  # face
    ell((cx, cy - hy * 0.35), (hx * 1.02, hy * 0.62), hair, 180, 360)  # fringe / hairline
    for s in (-1, 1):
        ex = cx + s * hx * 0.38
        ey = cy + hy * 0.05
        ell((ex, ey - hy * 0.15), (hx * 0.2, hy * 0.05), hair, 180, 360, 3)  # brow
        ell((ex, ey), (hx * 0.13, hy * 0.06), (250, 250, 250))
        ell((ex, ey), (hx * 0.06, hy * 0.06), (35, 30, 30))
    nose = (int(cx), int(cy + hy * 0.35))
    cv2.line(img, (int(cx), int(cy + hy * 0.1)), nose, tuple(int(v * 0.8) for v in skin), 2, cv2.LINE_AA)
    ell((cx, cy + hy * 0.55), (hx * 0.28, hy * 0.08), (170, 80, 80), 0, 180, 3)  # mouth
    img = cv2.GaussianBlur(img, (0, 0), 1.2)  # photo-like softness
    return img


# ---------------------------------------------------------------- layout variation

LAYOUTS = ("plain", "varied")
LAYOUT_SALT = 0x1A70_C4D5  # the varied layout's own random stream: random.Random(seed ^ LAYOUT_SALT)
GAP_MM = 1.25  # least clear paper between the ink of neighbouring rows, and between text and portrait/emblem
MARGIN_MM = 1.5  # least clear paper between ink and the card's edge
ROW_DY_MM = 4.0
# Printed rows, top to bottom, and the ink boxes each is made of. A row moves as one (label with its value).
FRONT_ROWS: dict[str, tuple[str, ...]] = {
    "name": ("label_name", "name"), "sex_nation": ("label_sex", "sex", "label_nation", "nation"),
    "birth": ("label_birth", "birth"), "address": ("label_address", "address"),
    "number": ("label_number", "number")}
BACK_ROWS: dict[str, tuple[str, ...]] = {
    "title": ("title",), "title2": ("title2",), "authority": ("label_authority", "authority"),
    "validity": ("label_validity", "validity")}
_BESIDE_PORTRAIT = ("name", "sex_nation", "birth", "address")
# (title 1 face, title 2 face) with weights: mostly 宋体 as printed, else another installed CJK face.
TITLE_FACES: tuple[tuple[tuple[tuple[str, int], tuple[str, int]], float], ...] = (
    ((SERIF, SERIF_BOLD), 0.2), ((SERIF_BOLD, SERIF_BOLD), 0.2), ((SANS, SANS_BOLD), 0.1),
    ((SANS_BOLD, SANS_BOLD), 0.08), ((UMING, UMING), 0.14), ((UKAI, UKAI), 0.1), ((ZENHEI, ZENHEI), 0.09),
    ((MICROHEI, MICROHEI), 0.09))
RowBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm


@dataclass
class LayoutJitter:
    """How one card departs from the standard layout (layout="varied"); None stands for the standard layout.

    Offsets in mm. row_dy are wishes in +-ROW_DY_MM, each mapped into the room the neighbouring rows leave
    (rows keep their order, GAP_MM apart, MARGIN_MM inside the card); row_dx move a row's label and value
    together; text next to the portrait is shrunk (as for long names) or moved left to keep clear of it."""

    scale: float = 1.0  # labels, values and the number (with its pitch), one factor per card
    col_dx: float = 0.0  # value column against the label column
    row_dx: dict[str, float] = field(default_factory=dict)
    row_dy: dict[str, float] = field(default_factory=dict)
    portrait_dx: float = 0.0
    portrait_dy: float = 0.0
    value_font: tuple[str, int] | None = None  # None, or a face lacking a glyph: the card's own 黑体
    title_fonts: tuple[tuple[str, int], tuple[str, int]] = (SERIF, SERIF_BOLD)
    title_scale: float = 1.0
    units_in_label_ink: bool = False  # the birth line's 年 月 日 in the labels' pale ink, as some print series
    labels_wiped: bool = False  # label ink lost (a screen's moire, a light copy): drawn nowhere, boxes kept

    @classmethod
    def sample(cls, rng: random.Random) -> LayoutJitter:
        rows = (*FRONT_ROWS, *BACK_ROWS)
        scale = rng.uniform(0.9, 1.1)
        col_dx = rng.uniform(-1.5, 1.5)
        row_dx = {r: rng.uniform(-3.0, 3.0) if r.startswith("title") else rng.uniform(-2.0, 2.0) for r in rows}
        row_dy = {r: rng.uniform(-ROW_DY_MM, ROW_DY_MM) for r in rows}
        pdx, pdy = rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)
        value_font = rng.choice((UMING, UKAI)) if rng.random() < 0.15 else rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
        faces, weights = zip(*TITLE_FACES)
        title_fonts = rng.choices(faces, weights)[0]
        title_scale = rng.uniform(0.9, 1.1)
        return cls(scale, col_dx, row_dx, row_dy, pdx, pdy, value_font, title_fonts, title_scale,
                   units_in_label_ink=rng.random() < 0.5)


def layout_jitter(layout: str, seed: int) -> LayoutJitter | None:
    """None for "plain"; for "varied" a LayoutJitter from its own stream, so the card's rng is untouched."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return None if layout == "plain" else LayoutJitter.sample(random.Random(seed ^ LAYOUT_SALT))


@lru_cache(maxsize=8192)
def _has_glyph(spec: tuple[str, int], ch: str) -> bool:
    """False when the face draws ch as its missing-glyph box (AR PL faces lack a few rare characters)."""
    def ink(c: str) -> bytes:
        im = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(im).text((4, 4), c, font=font(spec, 32), fill=255)
        return im.tobytes()
    return ch.isspace() or ink(ch) != ink("\uffff")


def _value_face(lay: LayoutJitter, hei: tuple[str, int], texts: list[str]) -> tuple[str, int]:
    spec = lay.value_font
    if spec is None or not all(_has_glyph(spec, ch) for t in texts for ch in t):
        return hei
    return spec


def _row_boxes(boxes: dict[str, Box], rows: dict[str, tuple[str, ...]]) -> dict[str, RowBox]:
    out: dict[str, RowBox] = {}
    for r, keys in rows.items():
        b: Box | None = None
        for k in keys:
            b = _union(b, boxes[k])
        assert b is not None
        out[r] = (b[0] / PX_PER_MM, b[1] / PX_PER_MM, b[2] / PX_PER_MM, b[3] / PX_PER_MM)
    return out


def _fit_rows(boxes: dict[str, RowBox], wish: dict[str, float], floors: dict[str, float]) -> dict[str, float]:
    """Vertical offset per row (top to bottom): each wish in +-ROW_DY_MM mapped linearly into the room left by
    the row above (as placed) and the rows below (at their lowest), GAP_MM apart and MARGIN_MM inside the card.
    floors: least top (mm) of a row's ink (the number row stays below the portrait)."""
    rows = list(boxes)
    hi: dict[str, float] = {}
    nxt = CARD_MM[1] - MARGIN_MM + GAP_MM  # top of a virtual row below the card
    for r in reversed(rows):
        hi[r] = min(ROW_DY_MM, nxt - GAP_MM - boxes[r][3])
        nxt = boxes[r][1] + hi[r]
    out: dict[str, float] = {}
    prev = MARGIN_MM - GAP_MM  # bottom of a virtual row above the card
    for r in rows:
        top = boxes[r][1]
        lo = max(-ROW_DY_MM, prev + GAP_MM - top, floors.get(r, -math.inf) - top)
        t = (wish[r] + ROW_DY_MM) / (2 * ROW_DY_MM)
        out[r] = lo + t * (hi[r] - lo) if lo <= hi[r] else lo  # never happens with the sizes used
        prev = boxes[r][3] + out[r]
    return out


# ---------------------------------------------------------------- the two sides

def _card_base(side: str, rng: random.Random) -> np.ndarray:
    bg = _background(side, rng.randrange(3)).astype(np.int16)
    # A little per-card tint and brightness so every card is not the same print.
    bg += np.array([rng.randint(-4, 4) for _ in range(3)], np.int16)
    return np.clip(bg, 0, 255).astype(np.uint8)


def _jitter(rng: random.Random, mm: float = 0.25) -> float:
    return rng.uniform(-mm, mm)


Offsets = dict[str, tuple[float, float]]  # row -> (dx, dy) in mm


def _front_text(wr: _Writer, p: Identity, hei: tuple[str, int], blue: tuple[int, int, int],
                ink: tuple[int, int, int], dx: float, dy: float, lay: LayoutJitter | None, off: Offsets,
                right: float | None) -> None:
    """The front's labels and values. lay None: the standard layout (exact same arithmetic as it always had).
    right: x (mm) the text beside the portrait must stay left of (varied layout)."""
    s = lay.scale if lay else 1.0
    cdx = lay.col_dx if lay else 0.0
    o = {r: off.get(r, (0.0, 0.0)) for r in FRONT_ROWS}
    label_f = font(SANS, round(LABEL_PX * s))
    label_pitch = LABEL_PX * 1.5 * s
    vx = VALUE_X_MM + dx + cdx  # dx, dy: print registration of the value layer

    ox, oy = o["name"]
    wr.text("label_name", 5.5 + ox, 8.0 + oy, "姓名", label_f, blue, pitch_px=label_pitch)
    x = vx + ox
    name_f = _fit(hei, round(NAME_PX * s), p.name, _mm(NAME_MAX_X_MM - vx if right is None else right - x))
    wr.text("name", x, 8.0 + dy + oy, p.name, name_f, ink)

    ox, oy = o["sex_nation"]
    wr.text("label_sex", 5.5 + ox, 13.0 + oy, "性别", label_f, blue, pitch_px=label_pitch)
    val_f = font(hei, round(VALUE_PX * s))
    wr.text("sex", vx + ox, 13.0 + dy + oy, p.sex, val_f, ink)
    wr.text("label_nation", 27.0 + cdx + ox, 13.0 + oy, "民族", label_f, blue, pitch_px=label_pitch)
    x = 36.5 + dx + cdx + ox
    nation_max = 16.0 * s if right is None else min(16.0 * s, right - x)
    wr.text("nation", x, 13.0 + dy + oy, p.nation, _fit(hei, round(VALUE_PX * s), p.nation, _mm(nation_max)), ink)

    ox, oy = o["birth"]
    wr.text("label_birth", 5.5 + ox, 19.5 + oy, "出生", label_f, blue, pitch_px=label_pitch)
    b = p.birth
    bx, by = vx + ox, 19.5 + dy + oy
    wr.text("birth", bx, by, str(b.year), val_f, ink)
    unit_ink = blue if lay is not None and lay.units_in_label_ink else ink
    wr.text("birth", bx + 7.3 * s, by, "年", val_f, unit_ink)
    digit_mm = val_f.getlength("0") / PX_PER_MM
    for text, slot_mm, unit, unit_mm in ((str(b.month), 11.6, "月", 15.7), (str(b.day), 20.0, "日", 24.1)):
        # Month/day right-aligned in a two-digit slot, not zero-padded: "1978 年 3 月 7 日".
        wdt = val_f.getlength(text) / PX_PER_MM
        wr.text("birth", bx + slot_mm * s + 2 * digit_mm - wdt, by, text, val_f, ink)
        wr.text("birth", bx + unit_mm * s, by, unit, val_f, unit_ink)

    ox, oy = o["address"]
    wr.text("label_address", 5.5 + ox, ADDRESS_Y_MM[0] + oy, "住址", label_f, blue, pitch_px=label_pitch)
    x = vx + ox
    for i, line in enumerate(p.address_lines()):
        ly = ADDRESS_Y_MM[0] + (ADDRESS_Y_MM[i] - ADDRESS_Y_MM[0]) * s
        line_f = val_f if right is None else _fit(hei, round(VALUE_PX * s), line, _mm(right - x))
        box = wr.text(f"address_{i + 1}", x, ly + dy + oy, line, line_f, ink)
        wr.boxes["address"] = _union(wr.boxes.get("address"), box)

    ox, oy = o["number"]
    wr.text("label_number", 5.5 + ox, 47.0 + oy, "公民身份号码", label_f, blue)
    pitch = NUMBER_PITCH_MM * s
    x = 28.0 + dx + cdx + ox
    if lay is not None:  # a large number moves left rather than off the card (0.3 mm: glyphs' side bearings)
        x = min(x, CARD_MM[0] - MARGIN_MM - 0.3 - len(p.number) * pitch)
    wr.text("number", x, 47.0 + dy + oy, p.number, ocrb(round(NUMBER_PX * s)), ink, pitch_px=_mm(pitch), ref="0")


def render_front(identity: Identity, rng: random.Random, layout: LayoutJitter | None = None) -> CardImage:
    """The front; layout None prints the standard layout, a LayoutJitter a varied one (same rng draws)."""
    lay = layout
    img = _card_base("front", rng)
    # Portrait, multiplied in so the security print shows through its light background.
    pdx, pdy = (lay.portrait_dx, lay.portrait_dy) if lay else (0.0, 0.0)
    pl, pt, pr, pb = PORTRAIT_MM
    px0, py0, px1, py1 = (round(_mm(v)) for v in (pl + _jitter(rng) + pdx, pt + _jitter(rng) + pdy, pr + pdx, pb + pdy))
    por = _portrait(rng, px1 - px0, py1 - py0, identity.sex == "女").astype(np.float32) / 255
    feather = np.ones(por.shape[:2], np.float32)
    ramp = 10
    feather[:ramp] *= np.linspace(0, 1, ramp)[:, None]
    feather[-ramp:] *= np.linspace(1, 0, ramp)[:, None]
    feather[:, :ramp] *= np.linspace(0, 1, ramp)[None, :]
    feather[:, -ramp:] *= np.linspace(1, 0, ramp)[None, :]
    region = img[py0:py1, px0:px1].astype(np.float32)
    blended = region * (1 - feather[..., None] * (1 - por))
    img[py0:py1, px0:px1] = np.clip(blended, 0, 255).astype(np.uint8)

    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    blue = (rng.randint(20, 50), rng.randint(120, 150), rng.randint(190, 215))
    ink = tuple(rng.randint(10, 30) for _ in range(3))
    dx, dy = _jitter(rng), _jitter(rng)  # print registration of the value layer
    if lay is not None and lay.labels_wiped:
        wr.hide = blue
    if lay is None:
        _front_text(wr, identity, hei, blue, ink, dx, dy, None, {}, None)
    else:
        hei = _value_face(lay, hei, [identity.name, identity.sex, identity.nation, identity.address,
                                     "0123456789年月日"])
        right = px0 / PX_PER_MM - GAP_MM
        off = {r: (lay.row_dx[r], 0.0) for r in FRONT_ROWS}
        probe = _Writer(None)
        _front_text(probe, identity, hei, blue, ink, dx, dy, lay, off, right)
        boxes = _row_boxes(probe.boxes, FRONT_ROWS)
        over = {r: boxes[r][2] - right for r in _BESIDE_PORTRAIT if boxes[r][2] > right}
        if over:  # a row the shrinking could not keep clear of the portrait (the birth date) moves left
            off.update({r: (off[r][0] - d, 0.0) for r, d in over.items()})
            probe = _Writer(None)
            _front_text(probe, identity, hei, blue, ink, dx, dy, lay, off, right)
            boxes = _row_boxes(probe.boxes, FRONT_ROWS)
        dys = _fit_rows(boxes, lay.row_dy, {"number": py1 / PX_PER_MM + GAP_MM})
        off = {r: (off[r][0], dys[r]) for r in FRONT_ROWS}
        _front_text(wr, identity, hei, blue, ink, dx, dy, lay, off, right)
    wr.boxes["portrait"] = (px0, py0, px1, py1)
    out = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    return CardImage("front", out, corner_alpha().copy(), wr.boxes, identity.front_fields())


def _back_text(wr: _Writer, p: Identity, hei: tuple[str, int], blue: tuple[int, int, int],
               ink: tuple[int, int, int], dx: float, dy: float, title1: tuple[str, int],
               lay: LayoutJitter | None, off: Offsets, clear_x: float | None) -> None:
    """The back's titles, labels and values. lay None: the standard layout (same arithmetic as always).
    clear_x: x (mm) the titles must stay right of (the emblem's edge, varied layout)."""
    s = lay.scale if lay else 1.0
    ts = lay.title_scale if lay else 1.0
    cdx = lay.col_dx if lay else 0.0
    f1, f2 = (title1, SERIF_BOLD) if lay is None else lay.title_fonts
    o = {r: off.get(r, (0.0, 0.0)) for r in BACK_ROWS}
    # Titles in 宋体, centred around x = 50 mm (cells of a fixed pitch).
    for key, text, face, size, pitch_mm, cy in (("title", "中华人民共和国", f1, 62, 6.1, 10.5),
                                                ("title2", "居民身份证", f2, 110, 10.6, 19.5)):
        pitch = _mm(pitch_mm * ts)
        ox, oy = o[key]
        x = 50 - len(text) / 2 * pitch / PX_PER_MM + ox
        if clear_x is not None:
            x = min(max(x, clear_x), CARD_MM[0] - MARGIN_MM - len(text) * pitch / PX_PER_MM)
        wr.text(key, x, cy + oy, text, font(face, round(size * ts)), ink, pitch_px=pitch)

    label_f = font(SANS, round(LABEL_PX * s))
    val_f = font(hei, round(VALUE_PX * s))
    ox, oy = o["authority"]
    wr.text("label_authority", 17.0 + ox, 39.0 + oy, "签发机关", label_f, blue)
    x = BACK_VALUE_X_MM + dx + cdx + ox
    max_w = BACK_MAX_X_MM - BACK_VALUE_X_MM - dx if lay is None else CARD_MM[0] - MARGIN_MM - x
    auth_f = _fit(hei, round(VALUE_PX * s), p.authority, _mm(max_w))
    wr.text("authority", x, 39.0 + dy + oy, p.authority, auth_f, ink)

    ox, oy = o["validity"]
    wr.text("label_validity", 17.0 + ox, 46.0 + oy, "有效期限", label_f, blue)
    vt = p.validity_text()
    start = vt.split("-", 1)[0]
    vx = BACK_VALUE_X_MM + dx + cdx + ox
    if lay is not None:
        val_f = _fit(hei, round(VALUE_PX * s), vt, _mm(CARD_MM[0] - MARGIN_MM - vx))
    wr.text("validity", vx, 46.0 + dy + oy, vt, val_f, ink)
    # Sub-boxes for the two dates, measured from the same string so they line up.
    x0, y0, x1, y1 = wr.boxes["validity"]
    split = round(_mm(vx) + val_f.getlength(start))
    after = round(_mm(vx) + val_f.getlength(start + "-"))
    wr.boxes["valid_from"] = (x0, y0, split, y1)
    wr.boxes["valid_to"] = (after, y0, x1, y1)


def render_back(identity: Identity, rng: random.Random, layout: LayoutJitter | None = None) -> CardImage:
    """The back; layout None prints the standard layout, a LayoutJitter a varied one (same rng draws)."""
    lay = layout
    img = _card_base("back", rng)
    emblem = paste_emblem(img, round(_mm(6.0 + _jitter(rng))), round(_mm(5.0 + _jitter(rng))))

    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    blue = (rng.randint(20, 50), rng.randint(120, 150), rng.randint(190, 215))
    ink = tuple(rng.randint(10, 30) for _ in range(3))
    title1 = SERIF_BOLD if rng.random() < 0.5 else SERIF
    dx, dy = _jitter(rng), _jitter(rng)
    if lay is None:
        _back_text(wr, identity, hei, blue, ink, dx, dy, title1, None, {}, None)
    else:
        hei = _value_face(lay, hei, [identity.authority, identity.validity_text()])
        clear_x = emblem[2] / PX_PER_MM + GAP_MM
        off = {r: (lay.row_dx[r], 0.0) for r in BACK_ROWS}
        probe = _Writer(None)
        _back_text(probe, identity, hei, blue, ink, dx, dy, title1, lay, off, clear_x)
        dys = _fit_rows(_row_boxes(probe.boxes, BACK_ROWS), lay.row_dy, {})
        off = {r: (off[r][0], dys[r]) for r in BACK_ROWS}
        _back_text(wr, identity, hei, blue, ink, dx, dy, title1, lay, off, clear_x)
    wr.boxes["emblem"] = emblem
    out = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    return CardImage("back", out, corner_alpha().copy(), wr.boxes, identity.back_fields())
