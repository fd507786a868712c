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

import cv2
import numpy as np

from . import normalize as nz
from .boxes import Box, crop, to_boxes
from .engine import Engine, Line
from .idnumber import lookup_area
from .layout import BACK_ANCHORS, CARD_H_MM, CARD_W_MM, FRONT_ANCHORS
from .refine import Fit, fit

DET_SIDE = 704  # detection size for the canonical card: 2.5 mm text stays ~20 px tall
_KEY_CANDIDATES = 3
_SURE = 0.9  # a line read with this confidence was read the right way up
# ... and so was one read as a run of Chinese this confidently: upside down, Chinese does not read as Chinese.
_PROSE = re.compile(r"[\u4e00-\u9fff]{6}")
_KEY_ASPECT = 22.0  # no key line is longer than this many times its height (the number with its label: ~20)

# 18 characters exactly: bank cards (16/19 digits) and phone numbers must not pass for an ID number.
_NUMBER = re.compile(r"(?<![0-9])[0-9OoDQIlZSB]{17}[0-9XxK×](?![0-9])")
_NUMBER_PART = re.compile(r"[0-9]{12,15}")
_VALIDITY = re.compile(r"\d{4}\D?\d{2}\D?\d{2}.{0,3}(\d{4}|长期)")


@dataclass
class Hypothesis:
    side: str  # front | back
    flipped: bool  # the canonical image shows the card upside down
    boxes: list[Box]  # the lines, as on the upright card
    fit: Fit
    known: dict[int, tuple[str, float]]  # id(box) -> text of the lines already recognized
    keys: tuple[str, ...] = ()  # the kinds of key line read (number, title1, ...)


def key_kind(text: str) -> str | None:
    """What a key line is, from its text."""
    t = text.replace(" ", "")
    if _NUMBER.search(nz.drop_specks(t)):
        return "number"
    if "临时" in t and ("居民" in t or "身份" in t):
        return "temp_title"  # 临时居民身份证: a temporary card, read by its labels once typed (othertypes.py)
    if _NUMBER_PART.fullmatch(t) and lookup_area(t[:6]) is not None:
        return "number_label"  # digits only, too few for a bank card: the number strip cut off by the frame
    if "共和国" in t or "人民共" in t:
        return "title1"
    if "身份证" in t or "居民身" in t:
        return "title2"
    if _VALIDITY.search(t) and any(nz.parse_validity(t)):  # (a bank card's 16 digits match the pattern alone)
        return "validity"
    if "身份号码" in t or "公民身份" in t:
        return "number_label"  # the number's printed label: the front, when the number is cut off
    return None


_SIDE_OF = {"number": "front", "number_label": "front", "temp_title": "front", "title1": "back", "title2": "back",
            "validity": "back"}


def _placed(kind: str, b: Box) -> bool:
    """A key line in the half of the card its side puts it in."""
    # (titles sit up to ~8 mm lower on some prints than on our layout: 居民身份证 can reach 0.55 of the height)
    return b.cy > CARD_H_MM * 0.5 if kind in ("number", "number_label", "validity") else b.cy < CARD_H_MM * 0.62


def detect_lines(card: np.ndarray, eng: Engine) -> list[Line]:
    return eng.detect(card, max_side=DET_SIDE)


def hypotheses(card: np.ndarray, eng: Engine, lines: list[Line] | None = None,
               read: list[tuple[int, str, bool]] | None = None) -> list[Hypothesis]:
    """The side/flip reading of a canonical card (empty when no key line reads).

    read: collects (index in `lines`, text, read upside down) of every line recognized, either way up."""
    lines = detect_lines(card, eng) if lines is None else lines
    if len(lines) < 2:
        return []
    plain = to_boxes(lines, False)
    # The widest lines first; then a few as short as the number's label (公民身份号码, ~17 mm), which says
    # front where a watermark or glare hid the number strip itself.
    wide = sorted(
        (i for i, b in enumerate(plain) if b.w > 12 and b.w > 3.5 * (b.y1 - b.y0)), key=lambda i: -plain[i].w
    )
    cand = wide[:_KEY_CANDIDATES] + [i for i in wide[_KEY_CANDIDATES:] if plain[i].w < 25][:_KEY_CANDIDATES]
    if not cand:
        return []
    crops = [crop(card, plain[i]) for i in cand]
    p180 = float(np.mean(eng.upside_down(crops[:_KEY_CANDIDATES])))
    out: list[Hypothesis] = []
    for flipped in ((False, True) if p180 < 0.5 else (True, False)):
        boxes = to_boxes(lines, flipped)
        keys: list[tuple[str, Box, str]] = []
        known: dict[int, tuple[str, float]] = {}
        sure = True  # every line read this way up read with confidence
        prose = False  # ... or one read as a run of Chinese with it
        # The widest line alone first: on most cards it is the number strip or a title.
        for chunk in (cand[:1], cand[1:_KEY_CANDIDATES], cand[_KEY_CANDIDATES:]):
            if not chunk:
                break
            shown = [crops[cand.index(i)] for i in chunk]
            if flipped:
                shown = [np.ascontiguousarray(c[::-1, ::-1]) for c in shown]
            texts = eng.recognize(shown)
            known.update({id(boxes[i]): t for i, t in zip(chunk, texts)})
            if read is not None:
                read.extend((i, t, flipped) for i, (t, _) in zip(chunk, texts))
            sure = sure and all(c >= _SURE for _, c in texts)
            prose = prose or any(c >= _SURE and _PROSE.search(t) for t, c in texts)
            for i, (text, _) in zip(chunk, texts):
                kind = key_kind(text)
                if kind and _placed(kind, boxes[i]):
                    keys.append((kind, boxes[i], text))
            if any(k in _KEY_PLACE for k, _, _ in keys):
                break
        if not keys:
            if (sure and len(cand) >= 2) or prose:
                # its lines read clearly this way up (a page's, a receipt's) and none is a key line: no use
                # reading them upside down
                break
            continue
        side = "front" if any(_SIDE_OF[k] == "front" for k, _, _ in keys) else "back"
        coarse = next(((k, b, t) for k, b, t in keys if k in _KEY_PLACE and _SIDE_OF[k] == side), None)
        out.append(Hypothesis(side, flipped, boxes, fit(boxes, side, flipped, coarse), known,
                              tuple(k for k, _, _ in keys)))
        break  # key lines placed where their side puts them: the other way up need not be tried
    return out


_TITLE_ASPECT = 8.0  # 居民身份证 boxed is ~5:1, 中华人民共和国 ~7:1
_DIGIT_RUN = re.compile(r"\d{8}")  # most of a date or of a number strip

_KEY_PLACE = {  # (x0, x1, cy) of a key line on the upright card, mm
    "number": (FRONT_ANCHORS["number_x0"], FRONT_ANCHORS["number_x1"], FRONT_ANCHORS["number_cy"]),
    "title1": (BACK_ANCHORS["title1_x0"], BACK_ANCHORS["title1_x1"], BACK_ANCHORS["title1_cy"]),
    "title2": (BACK_ANCHORS["title2_x0"], BACK_ANCHORS["title2_x1"], BACK_ANCHORS["title2_cy"]),
}
# Key lines that place a card found by them alone (key_line_quads) but are no anchors of the resident
# layout: the temporary card's title, as our renderer prints it (tools/measure_labels.py).
_PLACE_ONLY = {"temp_title": (20.2, 65.4, 5.5)}
_CARD_CORNERS_MM = np.array([[0, 0], [CARD_W_MM, 0], [CARD_W_MM, CARD_H_MM], [0, CARD_H_MM]], np.float32)


def key_span_px(quad: np.ndarray) -> float:
    """A line's length as place_by_key_lines measures it (between the midpoints of its short edges)."""
    q = quad.astype(np.float32)
    if np.linalg.norm(q[1] - q[0]) < np.linalg.norm(q[3] - q[0]):
        q = np.roll(q, -1, axis=0)
    return float(np.linalg.norm((q[1] + q[2]) / 2 - (q[0] + q[3]) / 2))


def placed_card_areas(quad: np.ndarray) -> list[float]:
    """The areas (px²) of the cards a line would place, as each kind of key line that places one."""
    k = [key_span_px(quad) / (x1 - x0) for x0, x1, _ in (*_KEY_PLACE.values(), *_PLACE_ONLY.values())]
    return [kk * kk * CARD_W_MM * CARD_H_MM for kk in k]


def _line_crop(img: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line straightened along its long edge, and its quad reordered to match (p0->p1 long)."""
    q = quad.astype(np.float32)
    if np.linalg.norm(q[1] - q[0]) < np.linalg.norm(q[3] - q[0]):
        q = np.roll(q, -1, axis=0)
    w = int(max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1])))
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(img, m, (max(w, 1), max(h, 1)), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE), q


def key_line_quads(img: np.ndarray, eng: Engine, max_side: int = 864) -> list[np.ndarray]:
    """Card quads placed from key lines found anywhere in the image (for cards whose outline is lost).

    The number strip or a title, recognized where it lies, fixes the card's direction, scale and place
    through the layout; read_quad then corrects perspective from the other anchors.
    """
    return place_by_key_lines(img, long_lines(img, eng, max_side), eng)


def long_lines(img: np.ndarray, eng: Engine, max_side: int = 864) -> list[Line]:
    """The image's long, thin text lines (a key line's shape), longest first: one full-frame detection."""
    longs = []
    for ln in eng.detect(img, max_side=max_side):
        a, b = np.linalg.norm(ln.quad[1] - ln.quad[0]), np.linalg.norm(ln.quad[3] - ln.quad[0])
        # The titles are short and tall (居民身份证 ~5:1); the number strip is at most ~13:1, ~20:1 boxed
        # with its label. Longer lines are a page's text (recognizing them costs more than a card's lines).
        if 3.5 * max(min(a, b), 1) < max(a, b) <= _KEY_ASPECT * max(min(a, b), 1):
            longs.append((max(a, b), min(a, b), ln))
    by_length = sorted(longs, key=lambda t: -t[0])
    # A small card among a receipt's or a page's lines: its title is shorter than theirs but taller, so the
    # tallest title-shaped lines are read too.
    tall = [t for t in sorted(by_length[6:], key=lambda t: -t[1]) if t[0] <= _TITLE_ASPECT * t[1]][:3]
    return [ln for _, _, ln in by_length[:6] + tall]


def place_by_key_lines(img: np.ndarray, longs: list[Line], eng: Engine) -> list[np.ndarray]:
    """The card quads that those of `longs` which read as key lines place (in their order)."""
    if not longs:
        return []
    crops, quads = zip(*(_line_crop(img, ln.quad) for ln in longs))
    flips = [p > 0.5 for p in eng.upside_down(list(crops))]
    shown = [np.ascontiguousarray(c[::-1, ::-1]) if f else c for c, f in zip(crops, flips)]
    texts = [t for t, _ in eng.recognize(shown)]
    # Digits read as digits either way up, and the direction classifier can be sure of the wrong way on a number
    # strip (p 0.94 on a small card's): a run of digits that places no card is read the other way up too.
    again = [i for i, t in enumerate(texts) if not _places(t) and _DIGIT_RUN.search(t)]
    for i, (t, _) in zip(again, eng.recognize([np.ascontiguousarray(shown[i][::-1, ::-1]) for i in again])):
        if _places(t):
            texts[i], flips[i] = t, not flips[i]
    return place_known([(np.roll(q, 2, axis=0) if flipped else q, text)
                        for text, q, flipped in zip(texts, quads, flips)])


def _place_of(text: str) -> tuple[float, float, float] | None:
    """(x0, x1, cy) on the card of the key line this text is, when it is one that places its card."""
    kind = key_kind(text)
    return (_KEY_PLACE.get(kind) or _PLACE_ONLY.get(kind)) if kind else None


def _places(text: str) -> bool:
    return _place_of(text) is not None


def place_known(lines: list[tuple[np.ndarray, str]]) -> list[np.ndarray]:
    """The card quads that key lines already recognized place: (image quad from the text's start, corners
    clockwise from its top-left, text), in their order; lines that are no key line place nothing."""
    out = []
    for q, text in lines:
        place = _place_of(text)
        if place is None:
            continue
        left, right = (q[0] + q[3]) / 2, (q[1] + q[2]) / 2
        x0, x1, cy = place
        k = float(np.linalg.norm(right - left)) / (x1 - x0)
        u = (right - left) / max(np.linalg.norm(right - left), 1e-6)
        v = np.array([-u[1], u[0]], np.float32)
        corners = [left + k * ((X - x0) * u + (Y - cy) * v) for X, Y in _CARD_CORNERS_MM]
        out.append(np.array(corners, np.float32))
    return out
