"""Read the fields of a straightened card.

Lines are detected on the canonical card, the side and the 0/180 flip are chosen by fitting the lines
to each side's layout (with the line classifier's vote), and only the lines inside field bands are
recognized, in one batch. A side is accepted only when its key text reads back (the number on the
front, the title or the validity dates on the back), so a bank card or a page of text gives nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import normalize as nz
from .boxes import Box, box_of, crop, union_quad
from .engine import Engine
from .idnumber import birth_of, checksum_ok, repair
from .layout import (
    ADDRESS_LINES_CY,
    ADDRESS_PITCH_MM,
    ADDRESS_VALUE_X0,
    ADDRESS_VALUE_X1,
    BACK_BANDS,
    BAND_LABELS,
    CANON_H,
    CANON_W,
    FRONT_ANCHORS,
    FRONT_BANDS,
    LABELS,
    PX_PER_MM,
    SEX_VALUE_MM,
)


@dataclass
class ReadField:
    value: str
    confidence: float
    quad: np.ndarray  # canonical px, upright card


@dataclass
class CardText:
    side: str  # front | back
    flipped: bool  # the canonical image was upside down
    fields: dict[str, ReadField] = field(default_factory=dict)
    number_repaired: bool = False
    title: str = ""  # the back's title lines as read (居民身份证, or another card type's title)


def _in(b: Box, rect: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = rect
    return x0 <= b.cx <= x1 and y0 <= b.cy <= y1


def _strip_labels(text: str) -> str:
    # stray punctuation the recognizer puts before a line ("。住址...") would hide the label
    return nz.strip_label(text.replace(" ", "").lstrip("。，,.:：;；·'\"、|_-—~"), LABELS)


def _rows(boxes: list[Box]) -> list[list[Box]]:
    """Group boxes into text rows (top to bottom), each row left to right."""
    rows: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: b.cy):
        if rows and abs(b.cy - np.mean([r.cy for r in rows[-1]])) < 0.45 * (b.y1 - b.y0):
            rows[-1].append(b)
        else:
            rows.append([b])
    return [sorted(r, key=lambda b: b.x0) for r in rows]


_NUM_RE = re.compile(r"[0-9OoDQIl|ZSBxX×K]{15,20}")
_CUT_NUM_RE = re.compile(r"[0-9]{10,17}")  # most of the strip, the rest beyond the frame
_FULL_STRIP_MM = 0.9 * (FRONT_ANCHORS["number_x1"] - FRONT_ANCHORS["number_x0"])


def _pick(boxes: list[Box], band_name: str, bands: dict) -> list[Box]:
    band = bands[band_name]
    picked = _dedupe([b for b in boxes if band.holds(b.cx, b.cy) and b.x1 > band.label_x1])
    return [_clip_label(b, picked, band.label_x1) for b in picked]


def _clip_label(b: Box, row: list[Box], label_x1: float) -> Box:
    """A label's box that runs into the value's box is cut where the value's begins.

    Otherwise its crop holds the value's first character too, read twice ("姓名蒋" + "蒋劼庆健").
    """
    if b.x0 >= label_x1 - 3:
        return b
    nxt = [o for o in row if o is not b and b.x0 < o.x0 < b.x1 - 0.5 and abs(o.cy - b.cy) < 0.5 * (b.y1 - b.y0)]
    if not nxt:
        return b
    cut = min(o.x0 for o in nxt)
    q = b.quad.copy()
    q[[1, 2], 0] = np.minimum(q[[1, 2], 0], cut * PX_PER_MM)
    return box_of(q)


def _layout_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    q = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) * PX_PER_MM
    return box_of(q)


def _probe(card: np.ndarray, box: Box, eng: Engine) -> tuple[Box, str, float] | None:
    """Read a fixed place of the layout the detector found nothing in, trimmed to its ink.

    A blank-padded crop makes the recognizer unsure of even a clean character, hence the trim.
    """
    region = crop(card, box)
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    med = float(np.median(gray))
    if med - float(gray.min()) < 30:
        return None  # no ink darker than the card here
    ink = np.where((gray < med - 0.45 * (med - float(gray.min()))).sum(axis=0) >= 2)[0]
    if len(ink) == 0:
        return None
    pad = region.shape[0] // 3
    x0 = box.x0 + max(0, ink[0] - pad) / PX_PER_MM
    x1 = box.x0 + min(region.shape[1], ink[-1] + pad) / PX_PER_MM
    tight = _layout_box(x0, box.y0, x1, box.y1)
    text, score = eng.recognize([crop(card, tight)])[0]
    text = text.replace(" ", "").strip(nz.SPECKS)
    return (tight, text, score) if any(ch.isalnum() for ch in text) else None  # dust and toner read as dots


def _dedupe(boxes: list[Box]) -> list[Box]:
    """Drop a line lying mostly inside a larger one (the detector sometimes boxes a word twice)."""
    def inter(a: Box, b: Box) -> float:
        return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))

    def area(b: Box) -> float:
        return (b.x1 - b.x0) * (b.y1 - b.y0)

    by_size = sorted(boxes, key=area, reverse=True)
    kept: list[Box] = []
    for b in by_size:
        if all(inter(b, k) < 0.6 * area(b) for k in kept):
            kept.append(b)
    return [b for b in boxes if any(b is k for k in kept)]


def read_side(
    card: np.ndarray, side: str, flipped: bool, boxes: list[Box], eng: Engine, known: Known | None = None
) -> CardText | None:
    """The fields of one side, or None when its key text does not read back."""
    upright = np.ascontiguousarray(card[::-1, ::-1]) if flipped else card
    read = _read_front if side == "front" else _read_back
    got = read(upright, boxes, eng, known or {})
    if got is not None:
        got.flipped = flipped
    return got


Known = dict[int, tuple[str, float]]  # id(box) -> text already recognized (the key lines)


Items = list[tuple[Box, str, float]]


def _recognize(card: np.ndarray, groups: dict[str, list[Box]], eng: Engine, known: Known) -> dict[str, Items]:
    """Recognize every box of every group in one batch (boxes already read are not read again)."""
    # reading order: rows top to bottom, each left to right (detector order is lost on a flipped card)
    flat = [(k, b) for k, bs in groups.items() for row in _rows(bs) for b in row]
    todo = [b for _, b in flat if id(b) not in known]
    got = dict(known)
    got.update({id(b): r for b, r in zip(todo, eng.recognize([crop(card, b) for b in todo]))})
    out: dict[str, list[tuple[Box, str, float]]] = {k: [] for k in groups}
    for k, b in flat:
        text, score = got[id(b)]
        text = text.replace(" ", "")
        value = _strip_labels(text)
        label = BAND_LABELS.get(k, "")
        if value == text and b.x0 < _LABEL_COLUMN_MM and _looks_like(text[: len(label)], label):
            value = text[len(label):]  # a label read with a wrong character ("姓者谢暐平")
        if not value:
            continue  # the printed label alone
        if len(value) < len(text) and text.endswith(value):
            b = _shrink_left(b, (len(text) - len(value)) / len(text))  # the box of the value, not its label
        out[k].append((b, value, score))
    return out


_LABEL_COLUMN_MM = 8.0  # a line starting left of this starts with its printed label


def _looks_like(got: str, label: str) -> bool:
    """The label with at most one character in three misread."""
    if not label or len(got) != len(label):
        return False
    return sum(a == b for a, b in zip(got, label)) * 3 >= len(label) * 2 - 1 and got[0] in label


def _shrink_left(b: Box, frac: float) -> Box:
    """The box without its left `frac` (a label merged into the line), by character share."""
    q = b.quad.copy()
    q[0] = q[0] + (q[1] - q[0]) * frac
    q[3] = q[3] + (q[2] - q[3]) * frac
    return box_of(q)


def _field(items: list[tuple[Box, str, float]], value: str, factor: float = 1.0) -> ReadField:
    conf = float(np.mean([s for _, _, s in items])) if items else 0.0
    return ReadField(value, max(0.0, min(1.0, conf * factor)), union_quad([b.quad for b, _, _ in items]))


def _text(items: list[tuple[Box, str, float]]) -> str:
    """The items' texts in order; where two boxes of a row overlap, the character both read is kept once."""
    out = ""
    prev: Box | None = None
    for b, t, _ in items:
        t = t.replace(" ", "")
        if prev is not None and abs(b.cy - prev.cy) < 0.5 * (b.y1 - b.y0) and b.x0 < prev.x1 - 0.5:
            k = next((k for k in (3, 2, 1) if len(out) >= k and out[-k:] == t[:k]), 0)
            t = t[k:]
        out += t
        prev = b
    return out


def _read_front(card: np.ndarray, boxes: list[Box], eng: Engine, known: Known) -> CardText | None:
    groups = {k: _pick(boxes, k, FRONT_BANDS) for k in FRONT_BANDS}
    groups["number"] = [b for b in groups["number"] if b.w > 12]
    if not groups["number"]:
        return None
    read = _recognize(card, groups, eng, known)
    # A strip short of its printed width lost digits beyond the frame: not the number, whatever it reads.
    num_items = [(b, nz.drop_specks(t), s) for b, t, s in read["number"]
                 if _NUM_RE.search(nz.drop_specks(t)) and (b.w > _FULL_STRIP_MM or len(nz.drop_specks(t)) >= 18)]
    if not num_items and not any(_CUT_NUM_RE.fullmatch(nz.drop_specks(t)) for _, t, _ in read["number"]):
        return None  # neither the number nor a strip of it cut off by the frame: no front here
    out = CardText("front", False)
    f = out.fields

    birth_items = read["birth"]
    birth = nz.parse_birth(_text(birth_items)) if birth_items else None
    if birth:
        f["birth"] = _field(birth_items, birth)

    if num_items:
        raw = max((m.group(0) for _, t, _ in num_items if (m := _NUM_RE.search(t))), key=len)
        number, repaired = repair(raw, birth)
        # a repaired number is the only consistent candidate, yet less certain than one read clean
        f["number"] = _field(num_items, number, (1.0 if len(number) == 18 else 0.5) * (0.8 if repaired else 1.0))
        out.number_repaired = repaired

    name_items = read["name"]
    name = nz.normalize_name(_text(name_items))
    if name:
        f["name"] = _field(name_items, name)

    sn_items = read["sex_nation"]
    sex_at = next((i for i, it in enumerate(sn_items) if re.search("[男女]", it[1])), None)
    nat_items, nat_text = sn_items, _text(sn_items)
    if sex_at is not None:
        text = sn_items[sex_at][1]
        m = re.search("[男女]", text)
        assert m is not None
        f["sex"] = _field([sn_items[sex_at]], m.group(0))
        after = _strip_labels(text[m.end():])  # "男民族汉": the nation in the same line
        nat_items = sn_items[sex_at + 1:] or ([sn_items[sex_at]] if after else [])
        nat_text = after + _text(sn_items[sex_at + 1:])
    if "sex" not in f:
        # A lone character the detector missed (glare, blur): read its fixed place on the layout.
        got = _probe(card, _layout_box(*SEX_VALUE_MM), eng)
        if got and (m := re.search("[男女]", got[1])):
            f["sex"] = _field([got], m.group(0))
    nat = nz.snap_nation(nat_text) if nat_text and nat_items else None
    if nat:
        f["nation"] = _field(nat_items, nat[0], nat[1])

    addr_items = read["address"]
    by_box = {id(b): (b, t, s) for b, t, s in addr_items}
    rows = _rows([b for b, _, _ in addr_items])
    ordered = [by_box[id(b)] for row in rows for b in row]
    if rows and len(rows) < len(ADDRESS_LINES_CY) and rows[-1][0].cy + ADDRESS_PITCH_MM < ADDRESS_LINES_CY[-1] + 2:
        # A 1-2 character last line is easily missed by the detector: read the next line's place.
        cy = rows[-1][0].cy + ADDRESS_PITCH_MM
        got = _probe(card, _layout_box(ADDRESS_VALUE_X0, cy - 2.0, ADDRESS_VALUE_X1, cy + 2.0), eng)
        if got and got[2] > 0.7:
            ordered.append(got)
    addr = nz.join_address([t for _, t, _ in ordered])
    if addr:
        f["address"] = _field(ordered, addr.strip(nz.SPECKS))
    # An ID number alone is no ID card: a driving licence, a form or a letter print one too. A front shows
    # the holder's other items where the layout puts them, or at least a line with the number's birth date
    # (wherever a skewed read put it). The foreigners' card prints its items elsewhere (othertypes.py reads
    # it): its number, 9 and a valid checksum, vouches for it.
    number = f["number"].value if "number" in f else ""
    others = sum(k in f for k in ("name", "sex", "nation", "birth", "address"))
    born = birth_of(number)
    vouched = (born is not None and any(nz.parse_birth(t) == born for items in read.values() for _, t, _ in items)
               ) or (len(number) == 18 and number.startswith("9") and checksum_ok(number))
    if others < 2 and not vouched:
        return None
    return out


def _read_back(card: np.ndarray, boxes: list[Box], eng: Engine, known: Known) -> CardText | None:
    groups = {k: _pick(boxes, k, BACK_BANDS) for k in BACK_BANDS}
    read = _recognize(card, groups, eng, known)
    title = _text(read["title"])
    validity_items = read["validity"]
    vfrom, vto = nz.parse_validity(_text(validity_items)) if validity_items else (None, None)
    titled = any(k in title for k in ("居民身份证", "身份证", "中华人民共和国", "共和国"))
    if not titled and not vfrom:
        return None
    out = CardText("back", False, title=title)
    f = out.fields
    auth_items = read["authority"]
    auth = _text(auth_items)
    if auth:
        f["authority"] = _field(auth_items, auth.strip(nz.SPECKS))
    if vfrom:
        f["valid_from"] = _field(validity_items, vfrom)
    if vto:
        f["valid_to"] = _field(validity_items, vto)
    return out


def warp_quad_back(quad_canon: np.ndarray, h_inv: np.ndarray, flipped: bool) -> np.ndarray:
    """Canonical upright-card px -> original image px."""
    q = quad_canon.astype(np.float32)
    if flipped:
        q = np.array([CANON_W, CANON_H], np.float32) - q
        q = np.roll(q, 2, axis=0)
    return cv2.perspectiveTransform(q.reshape(-1, 1, 2), h_inv).reshape(-1, 2)
