"""Fields of the other card types, found by their printed labels.

The resident card's reader (fields.py) reads fixed bands. The temporary card, the residence permit for
Hong Kong, Macao and Taiwan residents and the foreigners' permanent residence card print the same kinds of
field elsewhere, plus some of their own (通行证号码, 签发次数, 国籍, the name in Latin letters). Here the
whole card is read line by line and each value is taken from beside its label, or from under it where the
card prints values under bilingual labels (the foreigners' card), so the exact place of a line on a card
we have no measured layout for does not matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import normalize as nz
from .boxes import Box, box_of, crop, quad_list, union_quad
from .engine import Engine
from .idnumber import repair
from .layout import CANON_H, CANON_W, CARD_H_MM, CARD_W_MM, PX_PER_MM
from .model import Field

# Printed label -> what follows it. Longest first, so 公民身份号码 is not cut short by a shorter label.
_LABELS: tuple[tuple[str, str], ...] = (
    ("公民身份号码", "number"), ("通行证号码", "pass_number"), ("签发次数", "issue_count"),
    ("签发机关", "authority"), ("有效期限", "validity"), ("出生日期", "birth"), ("证件号码", "number"),
    ("姓名", "name"), ("性别", "sex"), ("民族", "nation"), ("出生", "birth"), ("住址", "address"),
    ("国籍", "nationality"),
)
# Fields each card type prints, and where its values sit relative to their labels.
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "temporary": frozenset({"name", "sex", "nation", "birth", "address", "number", "authority", "validity"}),
    "permit": frozenset({"name", "sex", "birth", "address", "number", "authority", "validity", "pass_number",
                         "issue_count"}),
    "foreign": frozenset({"name", "sex", "birth", "nationality", "validity", "number"}),
}
VALUES_BELOW = frozenset({"foreign"})  # bilingual labels with the value on the next line
_PAD_MM = 12.0  # the card is read with this margin: a quad fitted to another layout may cut its edge
_SLACK_MM = 6.0  # how far off the card a line's centre may fall and still count as on it
_COLUMN_MM = 4.0  # a value under a label starts within this of the label's left end
_DET_SIDE = 960
_SPREAD_MM = 15.0  # label places must span this much in x and in y to fix an affine map


@dataclass(eq=False)
class _Line:
    box: Box  # mm on the padded upright card
    text: str
    conf: float


@dataclass(eq=False)
class _Piece:
    """Part of a line's text, with the share of the line it spans (for its box)."""

    line: _Line
    text: str
    start: float  # 0..1 along the line
    end: float


@dataclass
class _Label:
    key: str
    line: _Line
    x0: float  # mm, where the label starts
    rest: list[_Piece] = field(default_factory=list)


def _split(line: _Line, allowed: frozenset[str]) -> list[tuple[str | None, _Piece]]:
    """The line cut at each label it holds: (label's field or None for text before any label, piece)."""
    t = line.text
    hits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(t):
        for label, key in _LABELS:
            if t.startswith(label, i) and key in allowed:
                hits.append((i, i + len(label), key))
                i += len(label)
                break
        else:
            i += 1
    # Where each character ends along the line: Chinese characters are about twice as wide as digits and
    # Latin letters, so a label's share of the line is more than its share of the characters.
    ends = np.cumsum([1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55 for ch in t] or [1.0])
    at = [0.0, *(ends / ends[-1])]
    out: list[tuple[str | None, _Piece]] = []
    if not hits or hits[0][0] > 0:
        end = hits[0][0] if hits else len(t)
        out.append((None, _Piece(line, t[:end], 0.0, at[end])))
    for j, (a, b, key) in enumerate(hits):
        end = hits[j + 1][0] if j + 1 < len(hits) else len(t)
        out.append((key, _Piece(line, t[a:b], at[a], at[b])))  # the label itself
        out.append((None, _Piece(line, t[b:end], at[b], at[end])))
    return out


def _rows(lines: list[_Line]) -> list[list[_Line]]:
    rows: list[list[_Line]] = []
    for ln in sorted(lines, key=lambda ln: ln.box.cy):
        if rows and abs(ln.box.cy - rows[-1][0].box.cy) < 0.5 * (ln.box.y1 - ln.box.y0):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [sorted(r, key=lambda ln: ln.box.x0) for r in rows]


def _labels_in(row: list[_Line], allowed: frozenset[str]) -> tuple[list[_Label], list[_Piece]]:
    """The row's labels, each with the text that follows it on the row; and text before the first label."""
    labels: list[_Label] = []
    lead: list[_Piece] = []
    for ln in row:
        for key, piece in _split(ln, allowed):
            if key is not None:
                labels.append(_Label(key, ln, ln.box.x0 + piece.start * ln.box.w))
            elif piece.text.strip(" :：/"):
                (labels[-1].rest if labels else lead).append(piece)
    return labels, lead


def _assign_right(rows: list[list[_Line]], allowed: frozenset[str]) -> dict[str, list[_Piece]]:
    """Values printed after their labels; lines under the address with no label continue it."""
    got: dict[str, list[_Piece]] = {}
    last: _Label | None = None
    for row in rows:
        labels, lead = _labels_in(row, allowed)
        if last is not None and last.key == "address" and lead and not labels:
            got["address"].extend(p for p in lead if p.line.box.x0 > last.x0 + 2.0)
            continue
        if lead and not labels and "validity" in allowed and "validity" not in got and all(
                nz.parse_validity(_text(lead))):
            got["validity"] = lead  # the dates read, their label missed: two dates say what they are
        for lab in labels:
            if lab.key not in got:  # the first printing of a label holds its value
                got[lab.key] = list(lab.rest)
        last = labels[-1] if labels else None
    return got


def _assign_below(lines: list[_Line], allowed: frozenset[str]) -> dict[str, list[_Piece]]:
    """Values printed under bilingual labels: each line goes to the nearest label above it in its column
    (by the label's left end, not by rows: a tilted card puts a value level with the next column's label)."""
    labels: list[_Label] = []
    values: list[_Piece] = []
    for ln in lines:
        parts = _split(ln, allowed)
        if any(key is not None for key, _ in parts):
            labels.extend(_Label(key, ln, ln.box.x0 + p.start * ln.box.w) for key, p in parts if key is not None)
        else:  # a label's own line carries its English name after it, no value
            values.extend(p for _, p in parts if p.text.strip(" :：/"))
    got: dict[str, list[_Piece]] = {}
    for p in sorted(values, key=lambda p: p.line.box.cy):
        b = p.line.box
        above = [lab for lab in labels if lab.line.box.cy < b.cy and abs(lab.x0 - b.x0) < _COLUMN_MM]
        if above:
            got.setdefault(max(above, key=lambda lab: lab.line.box.cy).key, []).append(p)
    return got


def _text(pieces: list[_Piece]) -> str:
    return "".join(p.text for p in pieces)


_NUMBER = re.compile(r"[0-9OoDQIlZSB]{17}[0-9XxK×]")


def _values(got: dict[str, list[_Piece]]) -> dict[str, tuple[str, list[_Piece]]]:
    """Normalized values, keyed by field name, with the pieces they came from."""
    out: dict[str, tuple[str, list[_Piece]]] = {}

    def put(key: str, value: str | None, pieces: list[_Piece]) -> None:
        if value:
            out[key] = (value, pieces)

    g = {k: v for k, v in got.items() if v}
    if "name" in g:
        latin = [p for p in g["name"] if not re.search(r"[\u4e00-\u9fff]", p.text)]
        cjk = [p for p in g["name"] if p not in latin]
        put("name", nz.normalize_name(_text(cjk).replace(" ", "")), cjk)
        en = re.sub(r"[^A-Z,.' -]", "", " ".join(p.text for p in latin).upper())
        put("name_en", re.sub(r"\s*,\s*", ", ", re.sub(r"\s+", " ", en)).strip(" ,"), latin)
    if "sex" in g:
        m = re.search("[男女]", _text(g["sex"]))
        put("sex", m.group(0) if m else None, g["sex"])
    if "nation" in g:
        nat = nz.snap_nation(_text(g["nation"]))
        put("nation", nat[0] if nat else None, g["nation"])
    if "birth" in g:
        put("birth", nz.parse_birth(_text(g["birth"])), g["birth"])
    if "address" in g:
        put("address", nz.join_address([p.text for p in g["address"]]), g["address"])
    if "number" in g:
        m = _NUMBER.search(nz.drop_specks(_text(g["number"]).replace(" ", "")))
        birth = out["birth"][0] if "birth" in out else None
        put("number", repair(m.group(0), birth)[0] if m else None, g["number"])
    if "authority" in g:
        put("authority", _text(g["authority"]).replace(" ", "").strip(nz.SPECKS), g["authority"])
    if "validity" in g:
        vfrom, vto = nz.parse_validity(_text(g["validity"]))
        put("valid_from", vfrom, g["validity"])
        put("valid_to", vto, g["validity"])
    if "pass_number" in g:
        m = re.search(r"[A-Z]?\d{8,10}", _text(g["pass_number"]).replace(" ", "").upper())
        put("pass_number", m.group(0) if m else None, g["pass_number"])
    if "issue_count" in g:
        m = re.search(r"\d{1,2}", _text(g["issue_count"]))
        put("issue_count", m.group(0) if m else None, g["issue_count"])
    if "nationality" in g:
        t = _text(g["nationality"]).replace(" ", "")
        zh, iso = "".join(re.findall(r"[\u4e00-\u9fff]", t)), re.search(r"[A-Z]{3}", t.upper())
        put("nationality", "/".join(x for x in (zh, iso.group(0) if iso else "") if x), g["nationality"])
    return out


def _on_card(b: Box) -> bool:
    """A line on the card, give or take the slack of the quad, not on what lies around it."""
    m = _PAD_MM - _SLACK_MM
    return m < b.x0 and b.x1 < _PAD_MM + CARD_W_MM + _SLACK_MM and m < b.cy < _PAD_MM + CARD_H_MM + _SLACK_MM


def _piece_quad(p: _Piece) -> np.ndarray:
    q = p.line.box.quad.astype(np.float64)
    a0, a1 = q[0] + (q[1] - q[0]) * p.start, q[0] + (q[1] - q[0]) * p.end
    b0, b1 = q[3] + (q[2] - q[3]) * p.start, q[3] + (q[2] - q[3]) * p.end
    return np.array([a0, a1, b1, b0])


@dataclass
class Labelled:
    """What read_labelled() found on one card."""

    fields: dict[str, Field]
    labels: dict[str, tuple[float, float]]  # label -> (left end, centre line) in mm on the card as given
    to_canon: np.ndarray | None = None  # image px -> canonical px, re-registered on the labels (LABEL_ANCHORS)


def _label_points(lines: list[_Line], allowed: frozenset[str]) -> dict[str, tuple[float, float]]:
    """Each label's left end and centre line, in mm on the card (the view's margin taken off); the topmost
    printing of a label where it repeats."""
    out: dict[str, tuple[float, float]] = {}
    for ln in sorted(lines, key=lambda ln: ln.box.cy):
        for key, p in _split(ln, allowed):
            if key is not None and key not in out:
                out[key] = (ln.box.x0 + p.start * ln.box.w - _PAD_MM, ln.box.cy - _PAD_MM)
    return out


def register(labels: dict[str, tuple[float, float]], anchors: dict[str, tuple[float, float]]) -> np.ndarray | None:
    """The affine map (canonical px, 3x3) putting the labels read where the layout prints them; None with
    fewer than three labels, or when they do not agree on one map within 1 mm."""
    keys = [k for k in labels if k in anchors]
    if len(keys) < 3:
        return None
    src = np.array([labels[k] for k in keys], np.float64) * PX_PER_MM
    dst = np.array([anchors[k] for k in keys], np.float64) * PX_PER_MM
    # Labels in one column leave the width free: a full affine only where they span both directions.
    spread = np.ptp(dst, axis=0).min() >= _SPREAD_MM * PX_PER_MM
    estimate = cv2.estimateAffine2D if spread else cv2.estimateAffinePartial2D
    m, inliers = estimate(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0 * PX_PER_MM)
    if m is None or inliers is None or int(inliers.sum()) < 3:
        return None
    return np.vstack([m, [0.0, 0.0, 1.0]])


def read_labelled(img: np.ndarray, to_canon: np.ndarray, card_type: str, side: str, eng: Engine) -> Labelled:
    """The fields of a card of `card_type` (temporary, permit, foreign) found in `img`.

    to_canon maps image px to the upright canonical card (10 px/mm); the card is read with a margin,
    so a quad fitted to the resident layout still holds the whole card. Boxes come back in image px.
    Where the type's label places are known (LABEL_ANCHORS), the card is also re-registered on them.
    """
    allowed = TYPE_FIELDS[card_type]
    pad = _PAD_MM * PX_PER_MM
    shift = np.array([[1, 0, pad], [0, 1, pad], [0, 0, 1]], np.float64)
    size = (round(CANON_W + 2 * pad), round(CANON_H + 2 * pad))
    view = cv2.warpPerspective(img, shift @ to_canon, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    found = eng.detect(view, max_side=_DET_SIDE)
    boxes = [box_of(ln.quad) for ln in found]
    crops = [crop(view, b) for b in boxes]
    lines = [_Line(b, t, c) for b, (t, c) in zip(boxes, eng.recognize(crops)) if t.strip() and _on_card(b)]
    got = _assign_below(lines, allowed) if card_type in VALUES_BELOW else _assign_right(_rows(lines), allowed)
    back = np.linalg.inv(shift @ to_canon)
    out: dict[str, Field] = {}
    for key, (value, pieces) in _values(got).items():
        rect = union_quad([_piece_quad(p) for p in pieces]).reshape(-1, 1, 2)
        corners = cv2.perspectiveTransform(rect, back).reshape(-1, 2)
        conf = float(np.mean([p.line.conf for p in pieces]))
        out[key] = Field(value=value, confidence=round(max(0.0, min(1.0, conf)), 4), box=quad_list(corners))
    labels = _label_points(lines, allowed)
    m = register(labels, LABEL_ANCHORS.get(card_type, {}).get(side, {}))
    return Labelled(out, labels, None if m is None else m @ to_canon)


# Where each type's labels sit (left end, centre line; mm on the upright card), measured on rendered cards by
# tools/measure_labels.py. The temporary card and the foreigners' card follow our renderer's layout (the
# published descriptions give no dimensions); the permit's front is the resident layout, already fitted.
LABEL_ANCHORS: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "temporary": {"front": {
        "name": (4.7, 12.35), "sex": (4.7, 17.25), "nation": (25.2, 17.25), "birth": (4.8, 22.05),
        "address": (4.75, 26.8), "number": (4.1, 40.93), "authority": (4.1, 46.05), "validity": (4.1, 50.45)}},
    "permit": {
        "front": {"name": (5.7, 7.85), "sex": (5.6, 12.85), "birth": (5.7, 19.35), "address": (5.7, 25.85),
                  "number": (5.2, 46.95)},
        "back": {"pass_number": (9.6, 31.85), "issue_count": (54.6, 31.8), "authority": (9.4, 38.8),
                 "validity": (9.6, 45.9)}},
    "foreign": {"front": {
        "name": (29.6, 12.78), "sex": (29.6, 24.55), "birth": (51.7, 24.5), "nationality": (29.5, 31.9),
        "validity": (51.6, 32.0), "number": (29.8, 40.15)}},
}


__all__ = ["LABEL_ANCHORS", "TYPE_FIELDS", "Labelled", "read_labelled", "register"]
