"""Extra conditions for the card checks: other card types, edited images, photographed copies, cut-off cards.

Kept apart from CONDITIONS so that make_set(seed, n) over the default conditions renders exactly what it did
before these existed. Each variant draws everything from the caller's random.Random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .capture import (
    Quad,
    Sample,
    Truth,
    _apply_h,
    _busy_bg,
    _card_corners,
    _colour_copy,
    _composite,
    _flat_bg,
    _gray_copy,
    _jpeg,
    _lighting,
    _noise,
    _page,
    _page_on_desk,
    _photo,
    _photocopy,
    _place,
    _qlist,
    _quad_area,
    _scene_size,
    _set_truth_flags,
    _truth,
    _u8,
)
from .card import (
    CARD_H,
    CARD_W,
    HEI_FONTS,
    NAME_PX,
    NUMBER_PITCH_MM,
    NUMBER_PX,
    UKAI,
    CardImage,
    LayoutJitter,
    _mm,
    font,
    ocrb,
    render_back,
    render_front,
)
from .identity import random_identity
from .othercards import (
    permit_identity,
    render_driving_licence,
    render_foreign,
    render_permit_back,
    render_permit_front,
    render_temporary,
)

VARIANTS: list[str] = ["temporary", "permit", "foreign", "edited", "copy_photo", "cut_off", "covered",
                       "neg_driving_licence", "toner_copy", "edge_copy", "watermark"]
# Variants no model or threshold is fitted on (tools/train_risk.py leaves them out): what the checks do on them
# is what they do on a copier they were not made for.
HELD_OUT: tuple[str, ...] = ("toner_copy",)
# Editors' names as they appear in EXIF Software (made-up version strings are fine: they are just text).
EDITORS = ("Adobe Photoshop CC 2014 (Macintosh)", "Adobe Photoshop 23.1 (Windows)", "GIMP 2.10.34",
           "Adobe Photoshop Lightroom Classic 12.0 (Windows)", "Meitu 9.2.5")
_EXTRA_BOX_KEYS = ("pass_number", "issue_count", "name_en", "nationality", "validity", "title", "title2")


def _extra_boxes(truth: Truth, card: CardImage, h: np.ndarray) -> None:
    for key in _EXTRA_BOX_KEYS:
        if key in card.boxes and key not in truth.boxes:
            x0, y0, x1, y1 = card.boxes[key]
            truth.boxes[key] = _qlist(_apply_h(h, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)))


def _photo_sample(card: CardImage, condition: str, rng: random.Random, nrng: np.random.Generator,
                  risk: str, card_type: str) -> Sample:
    scene, h = _photo(card, condition, rng, nrng)
    _noise(scene, nrng, 2.5)
    img = _u8(scene)
    truth = _truth([card], [h], (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, condition)
    _extra_boxes(truth, card, h)
    truth.risk, truth.card_type = risk, card_type
    return Sample(img, truth, condition)


# ---------------------------------------------------------------- edited: a field pasted over digitally

def _ring_colour(img: np.ndarray, quad: np.ndarray, grow: float) -> np.ndarray:
    """Background colour around a quad: the bright part of a ring just outside it (skips ink)."""
    c = quad.mean(0)
    outer = c + (quad - c) * grow
    h, w = img.shape[:2]
    m_out = np.zeros((h, w), np.uint8)
    m_in = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m_out, [np.round(outer).astype(np.int32)], 1)
    cv2.fillPoly(m_in, [np.round(quad).astype(np.int32)], 1)
    px = img[(m_out > 0) & (m_in == 0)]
    if len(px) == 0:
        return np.array((235, 235, 235), np.float32)
    lum = px.sum(1)
    return px[lum >= np.percentile(lum, 60)].mean(0).astype(np.float32)


def _edit(scene: np.ndarray, card: CardImage, h: np.ndarray, truth: Truth, rng: random.Random) -> None:
    """Cover one value with a flat patch and type a new one over it, in the card's perspective."""
    keys = [k for k in (("name", "number") if card.side == "front" else ("authority",)) if k in card.boxes]
    key = rng.choice(keys)
    other = random_identity(rng)
    new = {"name": other.name, "number": other.number, "authority": other.authority}[key]
    x0, y0, x1, y1 = card.boxes[key]
    pad = _mm(0.8)
    # Wide enough for the new text too (a forger clears the whole line's value).
    if key == "number":
        f = ocrb(NUMBER_PX)
        pitch = _mm(NUMBER_PITCH_MM)
        width = pitch * len(new)
    else:
        f = font(rng.choice(HEI_FONTS), round(NAME_PX * rng.uniform(0.8, 1.0)) if key == "name" else 33)
        pitch = None
        width = f.getlength(new)
    bx1 = min(CARD_W - _mm(2), max(x1, x0 + width) + pad)
    box = np.array([[x0 - pad, y0 - pad], [bx1, y0 - pad], [bx1, y1 + pad], [x0 - pad, y1 + pad]], np.float32)
    quad = _apply_h(h, box)
    colour = _ring_colour(np.clip(scene, 0, 255), quad, 1.25)
    # Flat patch, no sensor noise: the tell-tale of a digital paste.
    cv2.fillPoly(scene, [np.round(quad * 16).astype(np.int32)], colour.tolist(), cv2.LINE_AA, shift=4)
    # The new text, drawn on a card-sized layer and warped with the card's homography.
    layer = Image.new("L", (CARD_W, CARD_H), 0)
    d = ImageDraw.Draw(layer)
    cy = (y0 + y1) / 2
    bb = f.getbbox("0" if key == "number" else "国")
    ty = cy - (bb[1] + bb[3]) / 2 + rng.uniform(-4, 4)
    if pitch is None:
        d.text((x0, ty), new, font=f, fill=255)
    else:
        for i, ch in enumerate(new):
            d.text((x0 + i * pitch + (pitch - f.getlength(ch)) / 2, ty), ch, font=f, fill=255)
    a = cv2.warpPerspective(np.asarray(layer), h, (scene.shape[1], scene.shape[0]), flags=cv2.INTER_LINEAR)
    a = a.astype(np.float32)[..., None] / 255
    ink = colour * rng.uniform(0.08, 0.16)
    scene *= 1 - a
    scene += a * ink
    truth.fields[key] = new
    x_hi = x0 + width
    truth.boxes[key] = _qlist(_apply_h(h, np.array([[x0, y0], [x_hi, y0], [x_hi, y1], [x0, y1]], np.float32)))


def _resident_card(rng: random.Random, jitter: LayoutJitter | None) -> CardImage:
    """A resident card, front (60 %) or back, in the standard or a varied layout."""
    p = random_identity(rng)
    return render_front(p, rng, jitter) if rng.random() < 0.6 else render_back(p, rng, jitter)


def _edited(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    card = _resident_card(rng, jitter)
    scene, h = _photo(card, "edited", rng, nrng)
    _noise(scene, nrng, 2.5)
    truth = _truth([card], [h], (scene.shape[1], scene.shape[0]))
    _edit(scene, card, h, truth, rng)
    scene = _jpeg(scene, rng.randint(80, 95))  # saved again by the editor
    img = _u8(scene)
    _set_truth_flags(truth, "edited")
    truth.risk = "edited"
    truth.software = rng.choice(EDITORS) if rng.random() < 0.5 else None
    return Sample(img, truth, "edited")


# ---------------------------------------------------------------- a photocopy photographed with a phone

def _copy_photo(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    card = _resident_card(rng, jitter)
    page, hs = _photocopy([card], rng, nrng)
    ph, pw = page.shape[:2]
    size = _scene_size(rng)
    W, H = size
    # Frame the card part of the page: the card covers 25-45 % of the photo, the page runs off the frame.
    card_q = _apply_h(hs[0], _card_corners())
    s = math.sqrt(rng.uniform(0.25, 0.45) * W * H / _quad_area(card_q))
    a = math.radians(rng.uniform(-6, 6))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * s
    c_page = card_q.mean(0)
    c_scene = np.array([W / 2 + rng.uniform(-0.08, 0.08) * W, H / 2 + rng.uniform(-0.08, 0.08) * H])
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64)
    dst = (corners - c_page) @ rot.T + c_scene
    dst += nrng.uniform(-0.02, 0.02, dst.shape) * np.array([pw, ph]) * s  # a little keystone
    page_h = cv2.getPerspectiveTransform(corners.astype(np.float32), dst.astype(np.float32))
    scene = _busy_bg(rng, nrng, size) if rng.random() < 0.3 else _flat_bg(rng, size)
    _composite(scene, page, np.full((ph, pw), 255, np.uint8), page_h, shadow=0.25)
    scene *= np.array([rng.uniform(0.9, 1.05) for _ in range(3)], np.float32)  # white balance of the room
    _lighting(scene, rng, 0.18)
    _noise(scene, nrng, 2.5)
    img = _u8(scene)
    h = page_h @ hs[0]
    truth = _truth([card], [h], (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, "copy_photo")
    truth.risk = "photocopy"
    return Sample(img, truth, "copy_photo")


# ---------------------------------------------------------------- a copy with a "仅供...使用" note across it

_PURPOSES = ("入职登记", "银行开户", "办理社保", "租房登记", "办理手机卡", "贷款审核", "酒店入住", "快递实名")


def _watermarked(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    """A photocopy with the holder's note written over the card, as people mark the copies they hand out:
    "仅供入职登记使用" in pen or a printed font, large, across the card at any slant, over the fields."""
    card = _resident_card(rng, jitter)
    page, hs = _photocopy([card], rng, nrng)
    ph, pw = page.shape[:2]
    text = f"仅供{rng.choice(_PURPOSES)}使用" + ("" if rng.random() < 0.6 else rng.choice(("，他用无效", "，复印无效")))
    if rng.random() < 0.3:
        text = "此复印件" + text
    corners = _apply_h(hs[0], _card_corners())
    card_w = float(np.linalg.norm(corners[1] - corners[0]))
    spec = UKAI if rng.random() < 0.6 else rng.choice(HEI_FONTS)
    size = max(12, round(card_w * rng.uniform(0.09, 0.16)))  # glyphs 5-10 mm on the card
    f = font(spec, size)
    layer = Image.new("L", (round(f.getlength(text)) + 2 * size, 2 * size), 0)
    ImageDraw.Draw(layer).text((size, size // 2), text, font=f, fill=255)
    angle = 0.0 if rng.random() < 0.25 else rng.uniform(-35, 35)
    layer = layer.rotate(angle, resample=Image.BICUBIC, expand=True)
    mask = np.zeros((ph, pw), np.float32)
    cx, cy = corners.mean(0) + np.array([rng.uniform(-0.15, 0.15) * card_w, rng.uniform(-0.1, 0.1) * card_w])
    lw, lh = layer.size
    x0, y0 = round(cx - lw / 2), round(cy - lh / 2)
    src = np.asarray(layer, np.float32) / 255
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    w, h = min(lw - sx0, pw - dx0), min(lh - sy0, ph - dy0)
    if w > 0 and h > 0:
        mask[dy0:dy0 + h, dx0:dx0 + w] = src[sy0:sy0 + h, sx0:sx0 + w]
    ink, strength = rng.uniform(30, 130), rng.uniform(0.55, 0.95)
    a = (mask * strength)[..., None]
    page = page * (1 - a) + ink * a
    img = _u8(page)
    truth = _truth([card], hs, (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, "photocopy")
    return Sample(img, truth, "watermark")


# ---------------------------------------------------------------- another make of colour copier (held out)

def _toner_tone(img: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """A colour laser copier's rendering of the card (another model than capture._colour_copy): the scan's
    blur takes the fine guilloche, light tones drop to paper white, colours shift through the toner's own
    primaries, and the toner lies in grain (coloured dots) and a faint halftone screen in the mid-tones."""
    f = cv2.GaussianBlur(img.astype(np.float32), (0, 0), rng.uniform(1.0, 1.8))  # the scanner's optics
    black, white = rng.uniform(20, 55), rng.uniform(195, 220)  # light print is dropped to paper
    v = np.clip((f - black) / (white - black), 0, 1)
    # The toner's primaries: each output channel a mix of the input's (a hue shift), then the gamut squeezed.
    mix = np.eye(3, dtype=np.float32) * rng.uniform(0.8, 0.95)
    mix += nrng.uniform(0.0, 0.12, (3, 3)).astype(np.float32) * (1 - np.eye(3, dtype=np.float32))
    mix /= mix.sum(axis=1, keepdims=True)
    v = np.clip(v @ mix.T, 0, 1) ** np.array([rng.uniform(0.8, 1.25) for _ in range(3)], np.float32)
    # Halftone: a dot screen per channel at its own angle, strongest in the mid-tones.
    h, w = v.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(4.0, 7.0)  # card px (12 px/mm): about 2-3 lines per mm
    for ch, ang in enumerate(nrng.permutation([15.0, 45.0, 75.0])):
        a = math.radians(float(ang))
        u, t = xs * math.cos(a) + ys * math.sin(a), -xs * math.sin(a) + ys * math.cos(a)
        dots = np.cos(2 * np.pi * u / period) * np.cos(2 * np.pi * t / period)
        mid = v[..., ch] * (1 - v[..., ch])
        v[..., ch] = v[..., ch] + rng.uniform(0.2, 0.5) * mid * dots
    grain = nrng.normal(0, rng.uniform(0.02, 0.05), v.shape).astype(np.float32)
    v = np.clip(v + grain * (1 - v), 0, 1)  # toner grain: in the printed tones, not on bare paper
    return v * rng.uniform(236, 252)


def _copier_sample(condition: str, tone: np.ndarray, card: CardImage, rng: random.Random,
                   nrng: np.random.Generator) -> Sample:
    """The copier's rendering of the card (`tone`, float BGR) on an A4 page, scanned or photographed on a desk.

    The copier prints the card's edge as the scanner saw it: the shadow of the card's thickness along its
    rounded outline, or a frame a little outside it (a rectangle)."""
    W, H, paper_tone, area, centers = _page(rng, 1, (240, 255), (0.38, 0.6), (60, 40),
                                            ((0.2, 0.45), (0.22, 0.3), (0.55, 0.7)))
    paper = np.array([paper_tone * rng.uniform(0.97, 1.0) for _ in range(3)], np.float32)
    page = np.ones((H, W, 3), np.float32) * paper
    h = _place(rng, (W, H), area, rng.uniform(-2, 2), center=centers[0])
    _composite(page, tone, card.alpha, h)
    grey = float(rng.uniform(80, 170))
    if rng.random() < 0.5:  # the scan's frame: a thin line 0-1 mm outside the card's edge
        grow = rng.uniform(0.0, 12.0)
        line = np.array([[-grow, -grow], [CARD_W + grow, -grow], [CARD_W + grow, CARD_H + grow],
                         [-grow, CARD_H + grow]], np.float32)
    else:  # the card's own rounded outline
        cs, _ = cv2.findContours((card.alpha > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        line = max(cs, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
    pts = _apply_h(h, line)
    cv2.polylines(page, [np.round(pts * 4).astype(np.int32)], True, (grey, grey, grey), rng.randint(1, 2),
                  cv2.LINE_AA, shift=2)
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.4, 0.8))
    _noise(page, nrng, rng.uniform(1.5, 3.5))
    if rng.random() < 0.5:  # scanned: the page is the image
        img = _u8(page)
    else:  # photographed on a desk
        scene, hp = _page_on_desk(page, rng)
        _noise(scene, nrng, 2.0)
        img, h = _u8(scene), hp @ h
    truth = _truth([card], [h], (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, condition)
    truth.risk = "photocopy"
    return Sample(img, truth, condition)


def _toner_copy(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    """A colour copy from another make of copier (_toner_tone): held out of every fit."""
    card = _resident_card(rng, jitter)
    return _copier_sample("toner_copy", _toner_tone(card.image, rng, nrng), card, rng, nrng)


def _edge_copy(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    """A grey or colour copy (capture's copier tones) with the card's edge printed as a line."""
    card = _resident_card(rng, jitter)
    tone = _colour_copy(card.image, rng) if rng.random() < 0.6 else cv2.merge([_gray_copy(card.image, rng)] * 3)
    return _copier_sample("edge_copy", tone, card, rng, nrng)


# ---------------------------------------------------------------- cut off by the frame

def _cut_off(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    card = _resident_card(rng, jitter)
    size = _scene_size(rng)
    W, H = size
    scene = _busy_bg(rng, nrng, size) if rng.random() < 0.3 else _flat_bg(rng, size)
    h = _place(rng, size, rng.uniform(0.35, 0.55), rng.uniform(-4, 4), (rng.uniform(-5, 5), rng.uniform(-5, 5)))
    q = _apply_h(h, _card_corners())
    # Push the card over one edge so that 8-25 % of its width (or height) falls outside.
    edge = rng.randrange(4)
    span = q.max(0) - q.min(0)
    frac = rng.uniform(0.08, 0.25)
    shift = np.zeros(2)
    if edge == 0:
        shift[0] = -(q[:, 0].min() + frac * span[0])
    elif edge == 1:
        shift[0] = W - q[:, 0].max() + frac * span[0]
    elif edge == 2:
        shift[1] = -(q[:, 1].min() + frac * span[1])
    else:
        shift[1] = H - q[:, 1].max() + frac * span[1]
    h = np.array([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1]]) @ h
    _composite(scene, card.image, card.alpha, h)  # no drop shadow: it would wrap round the frame's edge
    _lighting(scene, rng, 0.15)
    return _flagged(scene, card, h, "cut_off", nrng)


def _flagged(scene: np.ndarray, card: CardImage, h: np.ndarray, condition: str,
             nrng: np.random.Generator) -> Sample:
    """The finished photo of one card whose condition is also its quality flag (cut_off, covered)."""
    _noise(scene, nrng, 2.5)
    img = _u8(scene)
    truth = _truth([card], [h], (img.shape[1], img.shape[0]))
    _set_truth_flags(truth, condition)
    truth.flags[condition] = True
    return Sample(img, truth, condition)


# ---------------------------------------------------------------- covered: a thumb over part of the card

def _thumb(scene: np.ndarray, q: np.ndarray, rng: random.Random) -> None:
    """Paint a thumb reaching in over one edge of the card quad q."""
    H, W = scene.shape[:2]
    i = rng.randrange(4)
    a, b = q[i], q[(i + 1) % 4]
    centre = q.mean(0)
    short = min(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1]))
    t = rng.uniform(0.25, 0.75)
    at = a + (b - a) * t
    inward = centre - at
    inward /= max(np.linalg.norm(inward), 1e-6)
    length = short * rng.uniform(0.45, 0.7)  # the thumb's visible length, tip to where it leaves the frame
    width = length * rng.uniform(0.45, 0.6)
    c = at + inward * length * rng.uniform(0.1, 0.3)
    angle = math.degrees(math.atan2(inward[1], inward[0])) + rng.uniform(-20, 20)
    mask = np.zeros((H, W), np.float32)
    cv2.ellipse(mask, (round(c[0]), round(c[1])), (round(length / 2), round(width / 2)), angle, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, width * 0.02))
    skin = np.array([rng.uniform(95, 140), rng.uniform(130, 170), rng.uniform(180, 225)], np.float32)  # BGR
    # Shading: lit along the thumb's middle, darker at its sides.
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    n = np.array([-math.sin(math.radians(angle)), math.cos(math.radians(angle))], np.float32)
    side = np.abs((xx - c[0]) * n[0] + (yy - c[1]) * n[1]) / max(width / 2, 1.0)
    shade = np.clip(1.05 - 0.35 * side ** 2, 0.55, 1.05)[..., None]
    scene[:] = scene * (1 - mask[..., None]) + (skin * shade) * mask[..., None]


def _covered(rng: random.Random, nrng: np.random.Generator, jitter: LayoutJitter | None) -> Sample:
    card = _resident_card(rng, jitter)
    scene, h = _photo(card, "covered", rng, nrng)
    _thumb(scene, _apply_h(h, _card_corners()), rng)
    return _flagged(scene, card, h, "covered", nrng)


# ---------------------------------------------------------------- entry point

# Variants drawn by a function of their own from (rng, nrng, jitter).
_SCENES: dict[str, Callable[[random.Random, np.random.Generator, LayoutJitter | None], Sample]] = {
    "edited": _edited, "copy_photo": _copy_photo, "covered": _covered, "toner_copy": _toner_copy,
    "edge_copy": _edge_copy, "watermark": _watermarked,
}


def make_variant(seed: int, condition: str, *, jitter: LayoutJitter | None = None) -> Sample:
    """One image of a variant condition, everything drawn from random.Random(seed).

    jitter: the layout of the resident cards (edited, copy_photo, cut_off, covered); other card types keep
    their own layouts."""
    if condition not in VARIANTS:
        raise ValueError(f"unknown variant {condition!r}; known: {', '.join(VARIANTS)}")
    rng = random.Random(seed)
    nrng = np.random.default_rng(rng.getrandbits(64))
    if condition == "temporary":
        card = render_temporary(random_identity(rng), rng)
        return _photo_sample(card, condition, rng, nrng, "temporary", "temporary")
    if condition == "permit":
        p, extra = permit_identity(rng)
        card = render_permit_front(p, rng) if rng.random() < 0.6 else render_permit_back(p, extra, rng)
        return _photo_sample(card, condition, rng, nrng, "original", "permit")
    if condition == "foreign":
        return _photo_sample(render_foreign(rng), condition, rng, nrng, "original", "foreign")
    if condition in _SCENES:
        return _SCENES[condition](rng, nrng, jitter)
    if condition == "neg_driving_licence":
        s = _photo_sample(render_driving_licence(random_identity(rng), rng), condition, rng, nrng, "none",
                          "driving_licence")
        s.truth.side, s.truth.fields, s.truth.portraits = "none", {}, []  # no ID card here: nothing to read
        return s
    return _cut_off(rng, nrng, jitter)


__all__ = ["EDITORS", "HELD_OUT", "VARIANTS", "Quad", "as_upload", "make_variant"]


def as_upload(sample: Sample, quality: int | None = None) -> bytes:
    """The sample as a phone would upload it: JPEG bytes (quality 80-95 drawn from the image itself unless
    given), carrying the EXIF Software tag when the truth names an editor (edited images)."""
    import io

    from PIL import Image as PILImage

    if quality is None:
        quality = 80 + int(np.frombuffer(sample.image[::97, ::89].tobytes(), np.uint8).sum()) % 16
    im = PILImage.fromarray(cv2.cvtColor(sample.image, cv2.COLOR_BGR2RGB))
    exif = PILImage.Exif()
    if sample.truth.software:
        exif[0x0131] = sample.truth.software
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()
