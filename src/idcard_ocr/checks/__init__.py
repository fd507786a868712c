"""Card checks: portrait, quality, risk, card type and warnings for a read image (issue 4).

    from idcard_ocr.pipeline import read_detailed
    from idcard_ocr.checks import assess, apply

    d = read_detailed(image)
    reading = apply(d.reading, assess(d, side_requested="front"))

assess() only looks at what read_detailed() found (the straightened cards, the decoded file's metadata)
and, when the pixels hint at another card type, recognizes one title line; it never re-reads the card.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..boxes import box_of, crop
from ..engine import Engine, get_engine
from ..fields import OTHER_TITLES
from ..layout import ASPECT, CANON_H, CANON_W, PX_PER_MM
from ..locate import iou, outline_quads, straighten
from ..model import CardChecks, Portrait, Reading
from ..orient import detect_lines
from . import cardtype, portrait, quality, risk, warnings
from .geometry import canon_box, px_per_mm
from .measure import SURROUND_MM, CardPixels
from .measure import measure as measure_card

if TYPE_CHECKING:
    from ..pipeline import Detailed

__all__ = ["analyse", "apply", "assess", "card_features", "card_jpeg", "portrait_crop", "portrait_jpeg"]

_CARD_ASPECT_TOL = 0.12  # an outline within 12 % of the card's aspect is card-shaped


def card_features(detailed: Detailed) -> list[dict[str, float]]:
    """The raw measurements of each found card (what the risk model and the quality flags use)."""
    out = []
    for v in detailed.views:
        rects = {k: r for k, f in v.card.fields.items() if (r := canon_box(v.to_canon, f.box)) is not None}
        m = measure_card(CardPixels(v.upright, v.card.side, rects, surround(detailed.decoded.pixels, v.to_canon)))
        m["back"] = 1.0 if v.card.side == "back" else 0.0
        out.append(m)
    return out


def surround(img: np.ndarray, to_canon: np.ndarray) -> np.ndarray:
    """The card straightened with SURROUND_MM of what it lies on all round (canonical scale; the image's
    edge repeated where the margin runs off it)."""
    m = int(SURROUND_MM * PX_PER_MM)
    shift = np.array([[1, 0, m], [0, 1, m], [0, 0, 1]], np.float64)
    return cv2.warpPerspective(img, shift @ to_canon, (CANON_W + 2 * m, CANON_H + 2 * m), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def analyse(detailed: Detailed, engine: Engine | None = None,
            timings: dict[str, float] | None = None) -> tuple[list[dict[str, float]], list[cardtype.CardKind]]:
    """Per-card measurements (with temp_title, the risk model's inputs) and card types (decided once per
    Detailed: kept in detailed.kinds)."""
    t = time.perf_counter()
    feats = card_features(detailed)
    t1 = time.perf_counter()
    views = detailed.views
    cards = [v.card for v in views]
    bg_as = [m.get("bg_a", 0.0) for m in feats]
    needs_text = any(cardtype.from_fields(c, v.title) is None and cardtype.title_request(c, v.upright, a)
                     for c, v, a in zip(cards, views, bg_as))
    eng = (engine or get_engine()) if needs_text else engine
    kinds = detailed.kinds if detailed.kinds is not None and len(detailed.kinds) == len(cards) else (
        cardtype.type_cards(detailed.decoded.pixels, cards, [v.upright for v in views], [v.to_canon for v in views],
                            bg_as, eng, [v.title for v in views]))
    detailed.kinds = kinds  # a re-read of the same cards (pipeline._read_as) keeps their types
    for m, k in zip(feats, kinds):
        m["temp_title"] = 1.0 if k.kind == "temporary" else 0.0
        if k.kind != "resident":
            # Glare is judged on the field boxes of the card as fitted to the resident layout; another type's
            # fields do not sit there (its lift measured 0.4-0.98 on glare-free renders): unknown, not judged.
            m["glare_lift"] = float("nan")
        if k.kind in ("temporary", "foreign"):
            # Placed from their labels alone, their outline is loose: the margin it takes in reads as cover.
            m["cover_share"] = float("nan")
    if timings is not None:
        timings["measure_ms"] = (t1 - t) * 1000
        timings["type_ms"] = (time.perf_counter() - t1) * 1000
    return feats, kinds


# Titles of other card-sized documents: a card-shaped object printed with one is another type of card.
_OTHER_TITLES = OTHER_TITLES


def _no_card_status(img: np.ndarray, engine: Engine | None, outlines: list[np.ndarray] | None,
                    unread: list[tuple[np.ndarray, str]] | None = None) -> tuple[str, list[str]]:
    """non_idcard, other_type_card (a card-shaped object that is colourful, dark, or titled as another
    document) or unknown (a light card-shaped object: perhaps an ID card the reader could not read).

    unread: quads the reader read to no card, with the text of their widest lines (both ways up): not read
    again."""
    for q in outline_quads(img) if outlines is None else outlines:
        a = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[3] - q[2])) / 2
        b = (np.linalg.norm(q[2] - q[1]) + np.linalg.norm(q[0] - q[3])) / 2
        if abs(max(a, b) / max(1e-6, min(a, b)) / ASPECT - 1) > _CARD_ASPECT_TOL:
            continue
        up = straighten(img, q)
        card = cv2.resize(up, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
        sat, val = float(np.median(hsv[..., 1])), float(np.median(hsv[..., 2]))
        if sat > 60 or val < 120:
            return "other_type_card", [f"card-shaped object, not an ID card's print (saturation {sat:.0f})"]
        texts = next((t for u, t in unread or [] if iou(u, q) > 0.9), None)
        if texts is None:
            eng = engine or get_engine()
            widest = sorted((box_of(ln.quad) for ln in detect_lines(up, eng)), key=lambda b: -b.w)[:4]
            crops = [crop(up, b) for b in widest]
            crops += [np.ascontiguousarray(c[::-1, ::-1]) for c in crops]  # the object may lie upside down
            texts = "".join(t for t, _ in eng.recognize(crops))
        if any(t in texts for t in _OTHER_TITLES):
            return "other_type_card", ["card-shaped object titled as another document"]
        return "unknown", ["card-shaped object the reader could not read"]
    return "non_idcard", ["no card in the image"]


def assess(
    detailed: Detailed,
    side_requested: str = "auto",
    engine: Engine | None = None,
    today: dt.date | None = None,
) -> CardChecks:
    """Portrait, quality, risk, card type and warnings for what read_detailed() found.

    `side_requested` is what the caller asked for ("front", "back" or "auto"), for the reversed_side status.
    `engine` is only used when a title line must be recognized (get_engine() by default).
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    reading = detailed.reading
    img = detailed.decoded.pixels
    views = detailed.views
    cards = [v.card for v in views]

    feats, kinds = analyse(detailed, engine, timings)
    kind = cardtype.overall(kinds)

    t = time.perf_counter()
    rk = risk.assess_risk(feats, detailed.decoded.software)
    timings["risk_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    portraits: list[Portrait] = []
    for i, (v, k) in enumerate(zip(views, kinds)):
        if v.card.side == "front":
            # (other card types come here placed on their own labels or outline: pipeline._read_as)
            text = [r for f in v.card.fields.values() if (r := canon_box(v.to_canon, f.box)) is not None]
            p, _ = portrait.locate(v.upright, v.to_canon, i, k.kind, detailed.decoded.upright_size,
                                   to_full=detailed.decoded.to_full, text=text)
            portraits.append(p)
    timings["portrait_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    no_card_status, no_card_reasons = ("unknown", []) if cards else _no_card_status(img, engine, detailed.outlines,
                                                                                         detailed.unread)
    medium = rk.kind if rk is not None and rk.kind in ("photocopy", "screen") else "photo"
    # The cards' quads at full resolution, as reading.image_size (the decoder may have worked at a reduced scale)
    quads = [np.array(c.quad, np.float64) * np.array(detailed.decoded.to_full) for c in cards]
    full = reading.model_copy(update={"image_size": detailed.decoded.upright_size})  # as the quads above
    reach = [quality.reaches_border(img, np.array(c.quad, np.float64), v.upright) for c, v in zip(cards, views)]
    q = quality.assess_quality(full, feats, quads, [px_per_mm(qd) for qd in quads], medium, kind.kind,
                               side_requested, no_card_status,
                               quality.scene_brightness(img) if cards else float("nan"), reach)
    if not cards:
        q.reasons = no_card_reasons
    w = warnings.card_warnings(reading, kind.kind, q.cut_off, today, q.covered)
    timings["quality_ms"] = (time.perf_counter() - t) * 1000
    timings["total_ms"] = (time.perf_counter() - t0) * 1000
    return CardChecks(
        card_type=kind.kind,  # type: ignore[arg-type]
        card_type_reasons=kind.reasons,
        portraits=portraits,
        quality=q,
        risk=rk,
        warnings=w,
        timings_ms={k: round(v, 1) for k, v in timings.items()},
    )


def apply(reading: Reading, checks: CardChecks, detailed: Detailed | None = None, images: bool = False) -> Reading:
    """The Reading with the checks' answers filled in (a copy; timings gain checks_ms).

    With `images` (and the Detailed it came from) it also carries the portrait and the straightened card
    as base64 JPEG (portrait_image, card_image): only on request, they are large.
    """
    timings = dict(reading.timings_ms)
    timings["checks_ms"] = checks.timings_ms.get("total_ms", 0.0)
    update: dict[str, object] = {
        "card_type": checks.card_type if reading.cards else None,
        "portrait": checks.portraits[0] if checks.portraits else None,
        "quality": checks.quality,
        "risk": checks.risk,
        "warnings": checks.warnings,
        "timings_ms": timings,
    }
    if images and detailed is not None:
        update["portrait_image"] = portrait_jpeg(detailed, checks)
        # the front's, where both sides show: the card the portrait and the vendors' answers (front first) are of
        front = next((i for i, v in enumerate(detailed.views) if v.card.side == "front"), 0)
        update["card_image"] = card_jpeg(detailed, front)
    return reading.model_copy(update=update)


def card_jpeg(detailed: Detailed, index: int = 0, quality_: int = 90) -> str | None:
    """The straightened, upright card (856 x 540) as base64 JPEG; None if there is no such card."""
    if index >= len(detailed.views):
        return None
    return portrait.jpeg_b64(detailed.views[index].upright, quality_)


def portrait_crop(detailed: Detailed, checks: CardChecks, index: int = 0) -> np.ndarray | None:
    """The index-th portrait, upright, 260 x 320 BGR (for saving to a file); None if there is none."""
    if index >= len(checks.portraits):
        return None
    p = checks.portraits[index]
    img = detailed.decoded.pixels
    # Straight from the original pixels through the photo's own quad: right for every card type, including
    # those whose photo was placed on a re-found outline.
    w, h = portrait.PHOTO_SIZE
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    quad = np.array(p.quad, np.float64) / np.array(detailed.decoded.to_full)  # full-resolution px -> decoded px
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def portrait_jpeg(detailed: Detailed, checks: CardChecks, index: int = 0, quality_: int = 90) -> str | None:
    """The index-th portrait (upright, 260 x 320) as base64 JPEG; None if there is none."""
    crop = portrait_crop(detailed, checks, index)
    return None if crop is None else portrait.jpeg_b64(crop, quality_)
