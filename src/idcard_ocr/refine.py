"""Fit a roughly straightened card onto the layout, using lines whose place never depends on the holder.

Front: the left end of each printed label row (姓名 性别 出生 住址 公民身份号码), the 民族 label, and both
ends of the number strip (18 fixed-pitch characters). Back: both ends of 中华人民共和国 and 居民身份证
and the left ends of 签发机关 and 有效期限. A homography through these points removes what the card
outline could not: a rough quad grown from text, perspective, a quad that took in the background.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from .boxes import Box, box_of
from .layout import BACK_ANCHORS, CANON_H, CANON_W, CARD_H_MM, FRONT_ANCHORS, PX_PER_MM

Point = tuple[float, float]


@dataclass
class Fit:
    transform: np.ndarray | None  # canonical px -> corrected canonical px (unflipped frame); None: too few
    anchors: int
    residual_mm: float  # RMS distance of the anchors from the layout before the fit
    perspective: np.ndarray | None = None  # a homography that explains the anchors much better, if any


def _rows(boxes: list[Box], cy: float, tol: float) -> list[Box]:
    return [b for b in boxes if abs(b.cy - cy) < tol]


def _column(boxes: list[Box], x0: float, tol: float) -> list[Box]:
    """The leftmost box of each text row whose left edge is near x0, top to bottom."""
    near = sorted((b for b in boxes if abs(b.x0 - x0) < tol), key=lambda b: b.cy)
    out: list[Box] = []
    for b in near:
        if out and abs(b.cy - out[-1].cy) < 0.5 * (b.y1 - b.y0):
            if b.x0 < out[-1].x0:
                out[-1] = b
            continue
        out.append(b)
    return out


def _spaced_like(rows: list[Box], expected_cy: list[float]) -> bool:
    """Row gaps proportional to the layout's (same ratios within 35 %), whatever the overall scale."""
    got = np.diff([b.cy for b in rows])
    want = np.diff(expected_cy)
    if np.any(got <= 0):
        return False
    ratio = got / want
    return bool(ratio.max() / ratio.min() < 1.35)


def anchor_pairs(boxes: list[Box], side: str, tol: float = 4.0) -> list[tuple[Point, Point]]:
    """(measured, expected) point pairs in upright card mm."""
    pairs: list[tuple[Point, Point]] = []
    if side == "front":
        a = FRONT_ANCHORS
        nums = [b for b in boxes if b.w > 30 and b.cy > a["number_cy"] - 2.5 * tol]
        num = min(nums, key=lambda b: abs(b.cy - a["number_cy"])) if nums else None
        if num is not None:
            # A strip short of its printed width runs off the frame: only its end near the layout's is real.
            full = num.w > 0.9 * (a["number_x1"] - a["number_x0"])
            if full or abs(num.x1 - a["number_x1"]) < tol:
                pairs.append(((num.x1, num.cy), (a["number_x1"], a["number_cy"])))
            # (a full strip starting left of the layout's is merged with its label)
            if (full and num.x0 > a["number_x0"] - tol) or abs(num.x0 - a["number_x0"]) < tol:
                pairs.append(((num.x0, num.cy), (a["number_x0"], a["number_cy"])))
        # The label column, matched in order: rows are ~6.5 mm apart, so a card stretched by a rough quad
        # would pair each label with its neighbour's row if matched by position.
        above = [b for b in boxes if b is not num and (num is None or b.cy < num.cy - 8)]
        col = _column(above, a["name_x0"], 2 * tol)
        keys = ("name", "sex", "birth", "address")
        window = col[-len(keys):]  # nearest the number first: stray lines above the card come first
        if len(window) == len(keys) and _spaced_like(window, [a[f"{k}_cy"] for k in keys]):
            matched = dict(zip(keys, window))
        else:
            matched = {}
            for key in keys:
                near = [b for b in col if abs(b.cy - a[f"{key}_cy"]) < min(tol, 3.0)]
                if len(near) == 1:
                    matched[key] = near[0]
        for key, b in matched.items():
            pairs.append(((b.x0, b.cy), (a[f"{key}_x0"], a[f"{key}_cy"])))
        if num is not None:
            lab = [b for b in _column(_rows(boxes, num.cy, 2.0), a["number_label_x0"], 2 * tol) if b is not num]
            if lab:
                pairs.append(((lab[0].x0, lab[0].cy), (a["number_label_x0"], a["number_label_cy"])))
        if "sex" in matched:
            sex_cy = matched["sex"].cy
            nation = [b for b in _rows(boxes, sex_cy, 2.0) if abs(b.x0 - a["nation_label_x0"]) < tol]
            if nation:
                b = min(nation, key=lambda b: abs(b.x0 - a["nation_label_x0"]))
                pairs.append(((b.x0, b.cy), (a["nation_label_x0"], a["sex_cy"])))
    else:
        a = BACK_ANCHORS
        titles: list[Box] = []
        for key in ("title1", "title2"):
            row = [b for b in _rows(boxes, a[f"{key}_cy"], tol) if b.x1 > 25 and b.x0 < 75]
            if row:
                left, right = min(row, key=lambda b: b.x0), max(row, key=lambda b: b.x1)
                if right.x1 - left.x0 > 25:
                    pairs.append(((left.x0, left.cy), (a[f"{key}_x0"], a[f"{key}_cy"])))
                    pairs.append(((right.x1, right.cy), (a[f"{key}_x1"], a[f"{key}_cy"])))
                    titles.append(left)
        # The two label rows and the two value rows, each matched in order from the top (stray lines below
        # a card come after them).
        low = [b for b in boxes if b.cy > 30]
        rows_cy = [a[f"{k}_cy"] for k in ("title1", "title2", "authority", "validity")]
        for x0 in (a["authority_x0"], a["value_x0"]):
            col = _column(low, x0, 2 * tol)[:2]
            if len(col) == 2 and (len(titles) < 2 or _spaced_like([*titles, *col], rows_cy)):
                for key, b in zip(("authority", "validity"), col):
                    pairs.append(((b.x0, b.cy), (x0, a[f"{key}_cy"])))
    return pairs


def _similarity(kind: str, box: Box, text: str) -> np.ndarray:
    """The similarity (upright canonical px, 3x3) putting one key line where the layout has it."""
    a = FRONT_ANCHORS if kind == "number" else BACK_ANCHORS
    x0, x1, cy = a[f"{kind}_x0"], a[f"{kind}_x1"], a[f"{kind}_cy"]
    q = box.quad.astype(np.float64)
    left, right = (q[0] + q[3]) / 2, (q[1] + q[2]) / 2
    if kind == "number" and re.match(r"\D*[\u4e00-\u9fff]", text):
        # merged with its label: its left end is the label's; take the number's length from the layout
        d = (right - left) / max(np.linalg.norm(right - left), 1e-6)
        left = right - d * (x1 - x0) * PX_PER_MM
    src = np.array([left, right])
    dst = np.array([[x0, cy], [x1, cy]]) * PX_PER_MM
    m, _ = cv2.estimateAffinePartial2D(src, dst)
    return np.vstack([m, [0, 0, 1]]) if m is not None else np.eye(3)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), m).reshape(-1, 2)


def _auto_key(boxes: list[Box], side: str) -> tuple[str, Box, str] | None:
    """The key line by shape alone (once it has been read, the card is known to be roughly upright)."""
    if side == "front":
        # the whole strip (~53 mm): a number cut off by the frame would scale the card wrongly
        nums = [b for b in boxes if b.w > 45 and b.cy > CARD_H_MM / 2]
        return ("number", max(nums, key=lambda b: b.w), "") if nums else None
    titles = sorted((b for b in boxes if b.w > 25 and b.cy < CARD_H_MM / 2), key=lambda b: b.cy)
    return ("title1", titles[0], "") if titles else None


def fit(boxes: list[Box], side: str, flipped: bool, coarse: tuple[str, Box, str] | None = None) -> Fit:
    """The anchors found and the transform that puts them on the layout.

    With a coarse key line (the number strip, a title), the lines are first moved by the similarity
    that puts it in place, so the anchors can be matched with tight tolerances however rough the quad.
    """
    coarse = coarse or _auto_key(boxes, side)
    sim = _similarity(*coarse) if coarse else np.eye(3)
    moved = [box_of(_apply(sim, b.quad).astype(np.float32)) for b in boxes] if coarse else boxes
    pairs = anchor_pairs(moved, side, tol=2.5 if coarse else 4.0)
    if not pairs:
        return Fit(_unflip(sim, flipped) if coarse else None, 0, float("inf"))
    # measured points back in the lines' own frame
    src = _apply(np.linalg.inv(sim), np.array([p for p, _ in pairs], np.float64) * PX_PER_MM)
    dst = np.array([q for _, q in pairs], np.float64) * PX_PER_MM
    residual = float(np.sqrt(np.mean(np.sum((src - dst) ** 2, axis=1)))) / PX_PER_MM
    m = None
    if len(pairs) >= 3:
        a, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5 * PX_PER_MM)
        m = None if a is None else np.vstack([a, [0, 0, 1]])
    persp = None
    if m is not None and len(pairs) >= 6:
        # Perspective only where the anchors demand it. They sit in an L (label column, number strip), so a
        # homography is free to swing the far corner: the caller lets the card's edges decide.
        h, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.5 * PX_PER_MM)
        if h is not None and _rms(m, src, dst) > 0.25 * PX_PER_MM and _rms(h, src, dst) < 0.5 * _rms(m, src, dst):
            persp = h
    if m is None:
        m = sim if coarse else None
    return Fit(
        None if m is None else _unflip(m, flipped), len(pairs), residual,
        None if persp is None else _unflip(persp, flipped),
    )


def _rms(m: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((_apply(m, src) - dst) ** 2, axis=1))))


def _unflip(m: np.ndarray, flipped: bool) -> np.ndarray:
    """A transform of the upright card expressed in the canonical image's own frame."""
    if not flipped:
        return m
    rot = np.array([[-1, 0, CANON_W], [0, -1, CANON_H], [0, 0, 1]], np.float64)  # its own inverse
    return rot @ m @ rot
