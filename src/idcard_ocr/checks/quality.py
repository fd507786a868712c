"""Quality flags, a 0-100 score and the 003 seed's image_status, from the card measurements.

Thresholds were set on renderer images (tools/synth, seeds disjoint from bench/risk.py's) and are
documented next to each; the raw measurements go out with the flags so callers can apply their own.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..layout import ASPECT, PX_PER_MM
from ..model import Quality, Reading

# Edge width (px on the 10 px/mm card) above which text counts as blurred. Reproductions are softer by
# nature (toner, screen pixels): they get their own limits, set above what an unblurred one shows. A card the
# photo holds at fewer px/mm is straightened up to 10 px/mm, which widens every edge by as much: its width is
# judged in the photo's own pixels (see native_width).
BLUR_WIDTH = {"photo": 3.5, "photocopy": 4.6, "screen": 5.8}
SHARP_WIDTH = 2.8  # a crisp straightened card measures 2.2-2.8 px
OVER_CLIPPED = 0.5  # fraction of the card at >= 250 grey: the print is burnt out
UNDER_MEDIAN = 140.0  # median grey of the card: a light card this dark is under-exposed ...
# ... when the photo's brightest part (95th percentile grey) is dim too: a card in the shadow of a phone or a
# hand in a lit scene is not. Midway between our renderer's under-exposed scenes (at most ~115) and its
# lit ones, shadowed included (at least ~210).
SCENE_BRIGHT = 160.0
# Mean lift of a field's ink towards its background (see measure.glare) from which a glare washes it out. Set on
# plain-layout renders of seeds 33,000,000 on (none in bench/risk.py): glare-free cards measure at most 0.08 on
# fronts and 0.14 on backs, and the lift follows the highlight's wash-out over the field (the truth's glare is a
# mean wash-out of 0.25): 0.24 agrees best with it on both sides. (Fronts needed more while a tile in the gap
# between the birth date's groups counted as washed out.)
GLARE_LIFT = 0.24
MIN_PX_PER_MM = 4.0  # below this 2.8 mm characters are under 11 px tall: too small to read reliably
CUT_TOLERANCE = 0.01  # a corner further than this fraction of the image outside it: card cut off
BORDER_NEAR = 0.06  # two corners within this fraction of one image edge: an edge along the border
SQUASHED = 0.12  # ... and the quad's aspect this far from the card's: the visible part of a cut card
# A solid thing reaching in from the card's edge (measure.cover): this share of the card and this thick.
COVER_SHARE = 0.02
COVER_EXTENT_MM = 8.0
_PAPER_DIST = 20.0  # Lab distance (lightness halved) within which a border pixel is the card's own background


def _nan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def reaches_border(img: np.ndarray, quad: np.ndarray, card: np.ndarray) -> bool:
    """Whether the card's own paper reaches the image border where its quad meets it.

    The strip 3 px wide along each image side, inside the quad: a card that runs over the border shows its
    light background there; a quad that only overshoots (extrapolated from a layout the print does not follow,
    a card printed off it) shows what the card lies on. `quad` in img's pixels, `card` the straightened card."""
    h, w = img.shape[:2]
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
    lab_card = cv2.cvtColor(cv2.resize(card, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    paper = np.median(lab_card[lab_card[:, 0] >= np.percentile(lab_card[:, 0], 50)], axis=0)
    for strip, mask in ((img[:, :3], inside[:, :3]), (img[:, -3:], inside[:, -3:]),
                        (img[:3], inside[:3]), (img[-3:], inside[-3:])):
        px = strip[mask > 0]
        if len(px) < 20:
            continue
        lab = cv2.cvtColor(px.reshape(-1, 1, 3), cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
        d = lab - paper
        near = np.sqrt((0.5 * d[:, 0]) ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2) < _PAPER_DIST
        if float(near.mean()) >= 0.3:
            return True
    return False


def cut_off(quads: list[np.ndarray], image_size: tuple[int, int], reach: list[bool] | None = None) -> bool | None:
    """Whether a card runs over the image border.

    Either its corners fall outside the image (the reader extrapolates them from the layout), or the quad
    was snapped to what is visible: then an edge lies along the border and the quad is squashed (aspect
    far from the card's 1.585 in a way perspective alone does not give). With `reach` (reaches_border per
    card), the card's paper must also be seen at the border: the quad alone overshoots on a card printed off
    the layout.
    """
    if not quads:
        return None
    w, h = image_size
    tx, ty = CUT_TOLERANCE * w, CUT_TOLERANCE * h
    for i, q in enumerate(quads):
        if reach is not None and not reach[i]:
            continue
        if (q[:, 0] < -tx).any() or (q[:, 0] > w + tx).any() or (q[:, 1] < -ty).any() or (q[:, 1] > h + ty).any():
            return True
        long_ = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
        short = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
        ratio = max(long_, short) / max(1e-6, min(long_, short))
        near = (q[:, 0] < BORDER_NEAR * w).sum() >= 2 or (q[:, 0] > (1 - BORDER_NEAR) * w).sum() >= 2 or \
            (q[:, 1] < BORDER_NEAR * h).sum() >= 2 or (q[:, 1] > (1 - BORDER_NEAR) * h).sum() >= 2
        if near and abs(ratio / ASPECT - 1) > SQUASHED:
            return True
    return False


def native_width(edge_width: float, px_per_mm: float) -> float:
    """An edge width measured on the straightened card, in the photo's own pixels where the card was upsampled.

    A sharp card held at 5 px/mm measures about twice a sharp card's width once straightened to 10 px/mm (our
    renderer's two cards side by side, other people's small cards): the photo is not blurred, only small
    (too_small says when too small to read)."""
    if _nan(px_per_mm) or px_per_mm >= PX_PER_MM:
        return edge_width
    return edge_width * px_per_mm / PX_PER_MM


def scene_brightness(img: np.ndarray) -> float:
    """The 95th percentile grey of the whole photo, on a small copy."""
    small = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return float(np.percentile(grey, 95))


def assess_quality(reading: Reading, per_card: list[dict[str, float]], quads: list[np.ndarray],
                   px_per_mm: list[float], medium: str, card_type: str, side_requested: str,
                   no_card_status: str, scene_p95: float = float("nan"), reach: list[bool] | None = None) -> Quality:
    """Flags from the worst card; `medium` is the risk class (photo, photocopy, screen) for the blur limit."""
    q = Quality()
    if not per_card:
        q.image_status = no_card_status  # type: ignore[assignment]
        q.reasons = ["no card found"]
        return q

    def worst(key: str, fn=max) -> float:  # type: ignore[no-untyped-def]
        vals = [m[key] for m in per_card if not _nan(m.get(key))]
        return float(fn(vals)) if vals else float("nan")

    ppms = px_per_mm if len(px_per_mm) == len(per_card) else [float("nan")] * len(per_card)
    widths = [native_width(m["edge_width"], p) for m, p in zip(per_card, ppms) if not _nan(m.get("edge_width"))]
    width = max(widths) if widths else float("nan")
    clip = worst("clip_hi")
    median = worst("p50", min)
    lift = worst("glare_lift")
    # Glare is judged per card; "glare_excess" > 0 means over the limit.
    excess = [m["glare_lift"] - GLARE_LIFT for m in per_card if not _nan(m.get("glare_lift"))]
    glare_excess = max(excess) if excess else float("nan")
    ppm = min(px_per_mm) if px_per_mm else float("nan")
    limit = BLUR_WIDTH.get(medium, BLUR_WIDTH["photo"])
    reasons: list[str] = []
    q.blur = None if _nan(width) else width > limit
    # A copier prints its paper white: on a copy, clipped paper is the medium, not an exposure fault.
    q.over_exposure = None if _nan(clip) else bool(clip >= OVER_CLIPPED and medium != "photocopy")
    q.under_exposure = None if _nan(median) else bool(median < UNDER_MEDIAN and not scene_p95 >= SCENE_BRIGHT)
    # Glare is a local highlight on an otherwise fine card: a burnt-out card is over-exposed as a whole, a
    # blurred one has its thin strokes lifted everywhere, and toner on paper does not shine.
    q.glare = None if _nan(glare_excess) else (
        glare_excess >= 0 and not q.over_exposure and not q.blur and medium != "photocopy")
    q.cut_off = cut_off(quads, reading.image_size, reach)
    covers = [m["cover_share"] for m in per_card
              if not _nan(m.get("cover_share")) and m.get("cover_extent_mm", 0.0) >= COVER_EXTENT_MM]
    measured = any(not _nan(m.get("cover_share")) for m in per_card)
    cover = max(covers, default=0.0)
    # A card beyond the frame is straightened with its missing part smeared in: that is not a cover.
    q.covered = bool(cover >= COVER_SHARE) if measured and not q.cut_off else None
    q.too_small = None if _nan(ppm) else ppm < MIN_PX_PER_MM
    if q.blur:
        reasons.append(f"blurred: edge width {width:.1f} px (limit {limit})")
    if q.over_exposure:
        reasons.append(f"over-exposed: {100 * clip:.0f} % of the card clipped")
    if q.under_exposure:
        reasons.append(f"under-exposed: card median grey {median:.0f}")
    if q.glare:
        reasons.append(f"glare: a field's ink lifted {100 * lift:.0f} % towards white")
    if q.cut_off:
        reasons.append("card cut off by the image border")
    if q.covered:
        reasons.append(f"something covers {100 * cover:.0f} % of the card from its edge")
    if q.too_small:
        reasons.append(f"card too small: {ppm:.1f} px/mm")

    # Score: a product of per-aspect factors in [0.2, 1]; 100 is a sharp, well-lit, whole, large card.
    f = 1.0
    if not _nan(width):  # 1 up to a crisp card's width, 0.5 at the blur limit
        f *= float(np.clip(1 - 0.5 * (width - SHARP_WIDTH) / (limit - SHARP_WIDTH), 0.2, 1.0))
    if not _nan(clip) and medium != "photocopy":
        f *= float(np.clip(1 - 0.7 * clip, 0.3, 1.0))
    if not _nan(median):
        f *= float(np.clip((median - 60) / (UNDER_MEDIAN + 40 - 60), 0.2, 1.0))
    if not _nan(glare_excess):  # 1 until 0.1 under the glare limit, 0.7 at it
        f *= float(np.clip(1 - 3 * max(0.0, glare_excess + 0.1), 0.4, 1.0))
    if q.cut_off:
        f *= 0.6
    if q.covered:
        f *= 0.6
    if not _nan(ppm):
        f *= float(np.clip(ppm / (1.5 * MIN_PX_PER_MM), 0.3, 1.0))
    q.score = round(100 * f)
    q.measures = {k: round(v, 4) for k, v in (
        ("edge_width", width), ("clip_hi", clip), ("median", median), ("scene_p95", scene_p95), ("glare_lift", lift),
        ("px_per_mm", ppm), ("cover_share", cover)) if not _nan(v)}
    q.reasons = reasons

    # The 003 seed's single status, most decisive first.
    found = reading.side
    if card_type in ("permit", "foreign"):
        status = "other_type_card"
    elif side_requested in ("front", "back") and found not in (side_requested, "both"):
        status = "reversed_side"
    elif q.under_exposure:
        # Before blurred: a dark photo's noise is large against its little contrast and widens the edges
        # measured (other people's dark, noisy photos of sharp cards: 4.0-4.4 px); the light is the fault.
        status = "over_dark"
    elif q.blur or q.too_small:
        status = "blurred"  # a card too small to read is as unclear as a blurred one (no status of its own)
    elif q.over_exposure or q.glare:
        status = "over_exposure"  # 003: 关键字段反光或过曝 (reflection over a key field, or over-exposure)
    else:
        status = "normal"
    q.image_status = status  # type: ignore[assignment]
    return q
