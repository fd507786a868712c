"""Which side a straightened card shows, which way up, and how far it is from the layout.

The widest lines of the card are recognized: the number strip says front, 中华人民共和国 or 居民身份证
says back, and a validity line says back too. The line classifier picks which way up to try first, and
the key line must sit where its side puts it (the number in the lower half, the titles in the upper half),
which also settles the flip when the classifier is unsure. No key line, no card: a bank card or a page
of text yields nothing here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .boxes import Box, crop, to_boxes
from .engine import Engine, Line
from .layout import CARD_H_MM
from .refine import Fit, fit

DET_SIDE = 704  # detection size for the canonical card: 2.5 mm text stays ~20 px tall
_KEY_CANDIDATES = 4

_NUMBER = re.compile(r"[0-9OoDQIlZSB]{14,17}[0-9XxK×]")
_VALIDITY = re.compile(r"\d{4}\D?\d{2}\D?\d{2}.{0,3}(\d{4}|长期)")


@dataclass
class Hypothesis:
    side: str  # front | back
    flipped: bool  # the canonical image shows the card upside down
    boxes: list[Box]  # the lines, as on the upright card
    fit: Fit


def key_kind(text: str) -> str | None:
    """What a key line is, from its text."""
    t = text.replace(" ", "")
    if _NUMBER.search(t):
        return "number"
    if "共和国" in t or "人民共" in t:
        return "title1"
    if "身份证" in t or "居民身" in t:
        return "title2"
    if _VALIDITY.search(t):
        return "validity"
    return None


_SIDE_OF = {"number": "front", "title1": "back", "title2": "back", "validity": "back"}


def _placed(kind: str, b: Box) -> bool:
    """A key line in the half of the card its side puts it in."""
    return b.cy > CARD_H_MM * 0.5 if kind in ("number", "validity") else b.cy < CARD_H_MM * 0.5


def detect_lines(card: np.ndarray, eng: Engine) -> list[Line]:
    return eng.detect(card, max_side=DET_SIDE)


def hypotheses(card: np.ndarray, eng: Engine, lines: list[Line] | None = None) -> list[Hypothesis]:
    """Side/flip readings of a canonical card, most likely first (at most one per flip)."""
    lines = detect_lines(card, eng) if lines is None else lines
    if len(lines) < 2:
        return []
    plain = to_boxes(lines, False)
    cand = sorted(
        (i for i, b in enumerate(plain) if b.w > 12 and b.w > 3.5 * (b.y1 - b.y0)), key=lambda i: -plain[i].w
    )[:_KEY_CANDIDATES]
    if not cand:
        return []
    crops = [crop(card, plain[i]) for i in cand]
    p180 = float(np.mean(eng.upside_down(crops)))
    out: list[Hypothesis] = []
    for flipped in ((False, True) if p180 < 0.5 else (True, False)):
        shown = crops if not flipped else [np.ascontiguousarray(c[::-1, ::-1]) for c in crops]
        boxes = to_boxes(lines, flipped)
        keys = []
        for i, (text, _) in zip(cand, eng.recognize(shown)):
            kind = key_kind(text)
            if kind and _placed(kind, boxes[i]):
                keys.append((kind, boxes[i], text))
        if not keys:
            continue
        side = "front" if any(k == "number" for k, _, _ in keys) else "back"
        coarse = next(((k, b, t) for k, b, t in keys if _SIDE_OF[k] == side and k != "validity"), None)
        out.append(Hypothesis(side, flipped, boxes, fit(boxes, side, flipped, coarse)))
    return out
