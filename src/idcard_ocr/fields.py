"""Read the fields of a straightened card by their printed labels and their content.

Every text line of the card is recognized (one batch) and grouped into rows. A row is known by its label
(姓名 性别 民族 出生 住址 公民身份号码 / 签发机关 有效期限, read whole or with a character misread) or by what
it holds (the number's pattern, a date, a validity range, 男/女, a nation). The layout only orders rows that
say neither: name, sex and nation, birth, then the address down to the number. So a card printed a few
millimetres off our layout, or straightened from a rough outline, reads the same.

A side is accepted only when its key text reads back (the number with the holder's other items on the
front, the validity range or the titles with the authority on the back): a bank card or a page gives nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np

from . import normalize as nz
from .address import ALTERNATE_MIN, Alternates, also_read, drop_label_tail, mend_office, office_known
from .address import correct as correct_address
from .boxes import Box, box_of, crop, union_quad
from .ctc import log_likelihoods
from .engine import Engine
from .idnumber import birth_of, checksum_ok, province_prefixes, repair
from .layout import ADDRESS_PITCH_MM, BACK_ANCHORS, CANON_H, CANON_W, CARD_W_MM, FRONT_ANCHORS, PX_PER_MM


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
    # The key line's length against the layout's (number strip, or a title): near 1 when the quad is the
    # card's outline, far from it when the quad took in more (the screen around a card) or less.
    scale: float | None = None
    # Only part of the number strip read, the rest beyond the quad: a quad narrower than the card (a portrait's
    # edge taken for the card's), or a card cut off by the photo's frame.
    strip_cut: bool = False


Known = dict[int, tuple[str, float]]  # id(box) -> text already recognized (the key lines)


@dataclass(eq=False)
class Item:
    """A recognized line: its box on the upright card (mm), text without spaces, confidence."""

    box: Box
    text: str
    conf: float


# Titles of other documents that print a validity range, an authority or an ID number too: never an ID card.
OTHER_TITLES = ("驾驶证", "行驶证", "驾驶", "机动车", "银行", "银联", "信用卡", "社会保障", "医疗保险", "护照",
                "学生证", "工作证")
# A note written over a copy ("仅供银行开户使用，他用无效") names where the copy goes, not what it is a copy of.
_NOTE = re.compile("仅供|仅限|使用|他用|无效|复印")


def _other_document(items: list[Item]) -> bool:
    """Whether a line names another document (a driving licence, a bank card), a copy's note aside."""
    return any(w in i.text for i in items if not _NOTE.search(i.text) for w in OTHER_TITLES)


_NUM_RE = re.compile(r"[0-9OoDQIl|ZSBxX×K]{15,20}")
_CUT_NUM_RE = re.compile(r"[0-9]{10,17}")  # most of the strip, the rest beyond the frame
_FULL_STRIP_MM = 45.0  # a number strip shorter than this lost digits beyond the frame
_EDGE_MM = 0.3
_PORTRAIT_X_MM = 50.0  # right of this, above the number, is the portrait: no field text starts there
_LEAD = "。，,.:：;；·'\"、|_-—~"  # stray marks the recognizer puts between a label and its value
_MARKS = re.compile(r"^[\W_]+")  # ... and before a line ("。住址...", "*住址...")

# Each side's printed labels -> the row they start. Longest first, so 公民身份号码 is not cut short.
FRONT_LABELS = (("公民身份号码", "number"), ("姓名", "name"), ("性别", "sex"), ("民族", "nation"),
                ("出生", "birth"), ("住址", "address"))
BACK_LABELS = (("签发机关", "authority"), ("有效期限", "validity"))


@cache
def _spaced(label: str) -> re.Pattern[str]:
    """The label's characters with any marks or spaces between them ("姓.名", "性 别")."""
    return re.compile(f"[\\s{re.escape(_LEAD)}]*".join(map(re.escape, label)))


def _lone_label(text: str, labels: tuple[tuple[str, str], ...]) -> str | None:
    """The field whose two-character label this lone character is half of (its other half boxed apart, or
    lost to glare or a faint print): for a line in the label column, where no value is printed."""
    t = text.strip(nz.SPECKS + " ")
    return next((key for label, key in labels if len(label) == 2 and len(t) == 1 and t in label), None)


def _like(got: str, label: str) -> bool:
    """`got` is `label` read with at most one character in three wrong (and its first or last right), or a
    long label read with half its characters right, its last among them ("营本机关", "指发利关": a small or
    noisy card's faint label; no value starts with half of 签发机关 or 有效期限 ending the same)."""
    if len(got) != len(label):
        return False
    same = sum(a == b for a, b in zip(got, label))
    if len(label) >= 4 and same * 2 >= len(label) and got[-1] == label[-1]:
        return True
    return same * 3 >= len(label) * 2 - 1 and (got[0] == label[0] or got[-1] == label[-1])


def split_label(text: str, labels: tuple[tuple[str, str], ...], at_line_start: bool) -> tuple[str | None, str]:
    """(the field a line's leading label names, the text after it), or (None, text) without a label.

    A label read with one character wrong ("差发机关", "姓者") counts only at the start of a line that
    starts in the label column: elsewhere two look-alike characters are as likely the value's own.
    """
    t = _MARKS.sub("", text)
    for label, key in labels:
        if m := _spaced(label).match(t):  # (a label's spaced-out characters read with a mark between them)
            return key, t[m.end():].lstrip(":：" + _LEAD)
    if at_line_start:
        for label, key in labels:
            if _like(t[: len(label)], label):
                if label == "住址" and t[1:].startswith(province_prefixes()):
                    return key, t[1:]  # 住 then the address's 云南...: 址 hidden, not misread
                n = len(label)
                while n > 1 and t[n - 1].isdigit():  # no label holds a digit: the label read short, the value's first
                    n -= 1  # digits after it ("有效期2017.01.07-...": 限 lost, not read as 2)
                return key, t[n:].lstrip(":：" + _LEAD)
        for label, key in labels:
            # part of a label hidden (a note written over it, glare): what is left of it starts the line
            # (址 only: 名 别 族 生 also begin names, 别克 for one, and a row without labels has no label column)
            if label == "住址" and len(t) > 2 and t[0] == "址":
                return key, t[1:].lstrip(":：" + _LEAD)
            if len(label) == 4 and len(t) > 3 and (n := next((n for n in (3, 2) if t[:n] in label), 0)):
                return key, t[n:].lstrip(":：" + _LEAD)
    return None, text


def _slope(items: list[Item]) -> float:
    """dy/dx of the card's text lines as straightened (a rough or perspective quad leaves them slanted)."""
    s = []
    for it in items:
        q = it.box.quad
        d = q[1] - q[0]
        if it.box.w > 10 and abs(d[0]) > 1e-3:
            s.append(float(d[1] / d[0]))
    return float(np.median(s)) if s else 0.0


def _rows(items: list[Item]) -> list[list[Item]]:
    """Items grouped into text rows (top to bottom, along the lines' own slant), each row left to right."""
    k = _slope(items)

    def level(it: Item) -> float:
        return it.box.cy - k * it.box.cx

    rows: list[list[Item]] = []
    for it in sorted(items, key=level):
        h = (it.box.y1 - it.box.y0) / np.sqrt(1 + k * k) - abs(k) * it.box.w  # the line's own height
        h = max(h, 0.5 * (it.box.y1 - it.box.y0))
        if rows and abs(level(it) - np.mean([level(r) for r in rows[-1]])) < 0.45 * h:
            rows[-1].append(it)
        else:
            rows.append([it])
    return [sorted(r, key=lambda i: i.box.x0) for r in rows]


def _dedupe(boxes: list[Box]) -> list[Box]:
    """Drop a line lying mostly inside a larger one (the detector sometimes boxes a word twice)."""
    def inter(a: Box, b: Box) -> float:
        return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))

    def area(b: Box) -> float:
        return (b.x1 - b.x0) * (b.y1 - b.y0)

    kept: list[Box] = []
    for b in sorted(boxes, key=area, reverse=True):
        # (a line inside a much taller box, such as a watermark's across the card, is its own line)
        if all(inter(b, k) < 0.6 * area(b) or (b.y1 - b.y0) < 0.6 * (k.y1 - k.y0) for k in kept):
            kept.append(b)
    return [b for b in boxes if any(b is k for k in kept)]


def _recognize(card: np.ndarray, boxes: list[Box], eng: Engine, known: Known) -> list[Item]:
    """Every line on the card, recognized in one batch (lines already read are not read again)."""
    lines = [b for b in _dedupe(boxes) if b.w > 1.5]
    todo = [b for b in lines if id(b) not in known]
    got = dict(known)
    got.update({id(b): r for b, r in zip(todo, eng.recognize([crop(card, b) for b in todo]))})
    # no whitespace of any width: the recognizer puts ideographic spaces between a label and its value
    items = [Item(b, "".join(got[id(b)][0].split()), got[id(b)][1]) for b in lines if got[id(b)][0].strip()]
    return _split_tall(card, items, eng)


def _split_tall(card: np.ndarray, items: list[Item], eng: Engine) -> list[Item]:
    """Lines the detector merged with a note written across the card ("仅供...使用" over a copy), read again
    band by band: its strokes join the printed lines they cross into one tall box, whose read keeps a few
    characters of one of them. Each band one line high is read; the surest become the lines."""
    heights = [i.box.y1 - i.box.y0 for i in items if i.conf >= 0.9 and 2.0 <= i.box.y1 - i.box.y0 <= 8.0]
    if len(heights) < 3:
        return items
    line_h = float(np.median(heights))
    # (the back's large title is printed tall by design; a box no wider than tall is the photo or the emblem)
    tall = [it for it in items if (h := it.box.y1 - it.box.y0) >= max(7.0, 1.7 * line_h) and it.box.w >= 1.2 * h
            and not any(t in it.text for t in _TITLES)]
    if not tall:
        return items
    out = [it for it in items if not any(it is t for t in tall)]

    def seen(band: Box) -> bool:  # a line the detector also found on its own
        return any(abs(band.cy - i.box.cy) < 0.6 * line_h and min(band.x1, i.box.x1) - max(band.x0, i.box.x0)
                   > 0.3 * min(band.w, i.box.w) for i in out)

    for it in tall:
        b = it.box
        # (a note's box runs off the card's sides, which no line of the card's own does)
        x0, x1 = max(b.x0, _EDGE_MM + 0.5), min(b.x1, CARD_W_MM - _EDGE_MM - 0.5)
        bands = [band for y in np.arange(b.y0 + line_h / 2, b.y1 - line_h / 2 + 1e-6, line_h / 4)
                 if not seen(band := _layout_box(x0, y - line_h / 2, x1, y + line_h / 2))]
        reads = eng.recognize([crop(card, band) for band in bands])
        found: list[Item] = []
        for band, (text, conf) in sorted(zip(bands, reads), key=lambda br: -br[1][1]):
            text = "".join(text.split())
            if conf < 0.85 or len(text) < 3:
                break
            if all(abs(band.cy - f.box.cy) > 0.6 * line_h for f in found):
                found.append(Item(band, text, conf))
        out.extend(found or [it])
    return sorted(out, key=lambda i: (i.box.cy, i.box.x0))


def _inside(it: Item) -> bool:
    """Clear of the straightened card's left and right edges. A line touching them is background beside the
    card, or cut by a quad off the card: no field of the holder's is read from it (the number strip alone
    may reach there; one cut short is re-read wider). Rows touching the top or bottom are kept and counted
    against the quad instead (cut_fields)."""
    return it.box.x0 > _EDGE_MM and it.box.x1 < CARD_W_MM - _EDGE_MM


def _shrink_left(b: Box, frac: float, end: float = 1.0) -> Box:
    """The part of the box from `frac` to `end` of its length (a label merged into the line), by character share."""
    q = b.quad.copy()
    top, bottom = q[1] - q[0], q[2] - q[3]
    q[0], q[1] = b.quad[0] + top * frac, b.quad[0] + top * end
    q[3], q[2] = b.quad[3] + bottom * frac, b.quad[3] + bottom * end
    return box_of(q)


@dataclass(eq=False)
class _Piece:
    """A value's part of one line: its text and box (the label cut away)."""

    box: Box
    text: str
    conf: float


@dataclass
class _Row:
    items: list[Item]
    key: str | None = None  # the field its label names
    pieces: list[_Piece] = field(default_factory=list)  # the values after any label, left to right
    labels: list[tuple[str, Item]] = field(default_factory=list)  # (field, item) of each label in the row

    @property
    def cy(self) -> float:
        return float(np.median([i.box.cy for i in self.items]))

    @property
    def text(self) -> str:
        return _text(self.pieces)


def _text(pieces: list[_Piece]) -> str:
    """The pieces' texts in order; where two boxes of a row overlap, the character both read is kept once."""
    out = ""
    prev: Box | None = None
    for p in pieces:
        t = p.text
        if prev is not None and p.box.x0 < prev.x1 - 0.5:
            k = next((k for k in (3, 2, 1) if len(out) >= k and out[-k:] == t[:k]), 0)
            t = t[k:]
        out += t
        prev = p.box
    return out


def _label_column(rows: list[list[Item]], labels: tuple[tuple[str, str], ...]) -> tuple[float, bool]:
    """Where the label column ends (mm): right of the left ends of lines that start with an exact label; and
    whether a line starts with a label at all, exact or misread (else there may be no label column: a
    screen's moire or a light copy loses the labels' pale ink, and the values start the lines)."""
    starts = [r[0].box.x0 for r in rows if split_label(r[0].text, labels, False)[0] is not None]
    seen = bool(starts) or any(split_label(r[0].text, labels, True)[0] is not None for r in rows)
    return (float(np.median(starts)) if starts else min(r[0].box.x0 for r in rows)) + 4.0, seen


def _label_half(text: str, labels: tuple[tuple[str, str], ...]) -> str | None:
    """The field whose two-character label's second half leads this line ("名周丽": 姓 lost to a small or
    noisy print), for a line that starts where the labels do: a value never starts there, so its first
    character is the label's."""
    return next((key for label, key in labels if len(label) == 2 and len(text) > 2 and text[0] == label[1]), None)


def _parse_rows(items: list[Item], labels: tuple[tuple[str, str], ...]) -> list[_Row]:
    """Rows with their labels cut away; a row takes the field of its first label."""
    raw = _rows(items)
    if not raw:
        return []
    col, seen = _label_column(raw, labels)
    out = []
    for r in raw:
        row = _Row(r)
        skip: dict[int, int] = {}  # id(item) -> characters its start repeats of the label's line before it
        for it in r:
            text = it.text[skip.get(id(it), 0):]
            key, rest = split_label(text, labels, it.box.x0 < col or (it is r[0] and len(r) > 1))
            if key is None and it.box.x0 < col and it is not r[-1] and (key := _lone_label(text, labels)):
                rest = ""
            if key is None and seen and it is r[0] and it.box.x0 < col - 2.0 and (key := _label_half(text, labels)):
                rest = text[1:]
            box = it.box
            if key is not None:
                row.labels.append((key, it))
                row.key = row.key or key
                for o in r:
                    if not rest or o is it or not it.box.x0 < o.box.x0 < it.box.x1 - 0.5:
                        continue
                    # The label's box ran into the value's, boxed on its own: read what both hold once.
                    if o.text.startswith(rest):
                        skip[id(o)] = len(rest)
                    elif (split_label(o.text, labels, False)[0] is None
                          and len(rest) <= (it.box.x1 - o.box.x0) / (it.box.w / len(it.text)) + 1):
                        rest = ""  # it lies over the value's box: a part of the value's first character
            if rest and len(rest) < len(it.text):
                box = _shrink_left(box, 1 - len(rest) / len(it.text))  # the value's share of the line
            if rest:
                row.pieces.append(_Piece(box, rest, it.conf))
        starts = [it for k, it in row.labels if k != "nation"]  # (民族 stands mid-row, after the sex)
        if starts:  # nothing is printed left of a row's label: what is there is the background's
            row.pieces = [p for p in row.pieces if p.box.x1 > starts[0].box.x0 + 0.5]
        out.append(row)
    return out


def _field(pieces: list[_Piece], value: str, factor: float = 1.0) -> ReadField:
    conf = float(np.mean([p.conf for p in pieces])) if pieces else 0.0
    return ReadField(value, max(0.0, min(1.0, conf * factor)), union_quad([p.box.quad for p in pieces]))


def _layout_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    q = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) * PX_PER_MM
    return box_of(q)


def _probe(card: np.ndarray, box: Box, eng: Engine) -> _Piece | None:
    """Read a place the detector found nothing in, trimmed to its ink.

    A blank-padded crop makes the recognizer unsure of even a clean character, hence the trim.
    """
    region = crop(card, box)
    if region.size == 0:
        return None
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    med = float(np.median(gray))
    if med - float(gray.min()) < 30:
        return None  # no ink darker than the card here
    dark = (gray < med - 0.45 * (med - float(gray.min()))).astype(np.uint8)
    # A mark running from the box's top to its bottom is no printed character (every box here is taller than
    # the glyphs it looks for): a copier's streak, a fold or a pen stroke across the line, which reads as 1 or 丨.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    through = [i for i in range(1, n) if stats[i, cv2.CC_STAT_TOP] == 0
               and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] == dark.shape[0]]
    if through:
        dark[np.isin(labels, through)] = 0
    ink = np.where(dark.sum(axis=0) >= 2)[0]
    if len(ink) == 0:
        return None
    pad = region.shape[0] // 3
    x0 = box.x0 + max(0, ink[0] - pad) / PX_PER_MM
    x1 = box.x0 + min(region.shape[1], ink[-1] + pad) / PX_PER_MM
    tight = _layout_box(x0, box.y0, x1, box.y1)
    # and in grey: a screen's colour moire, which grey mostly cancels, turns a lone 男 into 中 or 爱
    # (a crop already grey, a copy's or a card read again in grey, would be read twice the same)
    seen = crop(card, tight)
    crops = [seen]
    if not ((seen[..., 0] == seen[..., 1]).all() and (seen[..., 1] == seen[..., 2]).all()):
        crops.append(cv2.cvtColor(cv2.cvtColor(seen, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    text, score = max(eng.recognize(crops), key=lambda ts: ts[1])
    text = text.replace(" ", "").strip(nz.SPECKS)
    return _Piece(tight, text, score) if any(ch.isalnum() for ch in text) else None  # dust reads as dots


def cut_fields(ct: CardText) -> int:
    """Fields whose box touches the top or bottom of the straightened card: a quad that cut a row."""
    return sum(f.quad[:, 1].min() <= _EDGE_MM * PX_PER_MM or f.quad[:, 1].max() >= CANON_H - _EDGE_MM * PX_PER_MM
               for f in ct.fields.values())


def read_side(
    card: np.ndarray, side: str, flipped: bool, boxes: list[Box], eng: Engine, known: Known | None = None
) -> CardText | None:
    """The fields of one side, or None when its key text does not read back."""
    upright = np.ascontiguousarray(card[::-1, ::-1]) if flipped else card
    items = _recognize(upright, boxes, eng, known or {})
    got = _read_front(upright, items, eng) if side == "front" else _read_back(items, upright, eng)
    if got is not None:
        got.flipped = flipped
    return got


# --------------------------------------------------------------------------- front


def _digits(text: str) -> str:
    """A line's text as the number strip: its 公民身份号码 label cut off, dots between digits dropped."""
    return nz.drop_specks(split_label(text, FRONT_LABELS[:1], True)[1])


def _number(items: list[Item]) -> tuple[Item | None, bool]:
    """The number strip (lowest line holding 18 number characters), and whether a strip cut by the frame
    (most of its digits, too short for the printed strip) was seen instead."""
    whole = []
    cut = False
    for it in items:
        t = _digits(it.text)
        if (m := _NUM_RE.search(t)) and (it.box.w > _FULL_STRIP_MM or len(m.group(0)) >= 18):
            whole.append(it)
        elif _CUT_NUM_RE.fullmatch(t):
            cut = True
    return (max(whole, key=lambda i: i.box.cy) if whole else None), cut


def _strip_at(card: np.ndarray, x0: float, y0: float, x1: float, y1: float, eng: Engine) -> Item | None:
    """The number strip read at a place of the card: an Item when its 18 characters read there."""
    got = _probe(card, _layout_box(x0, y0, x1, y1), eng)
    if got is not None and (m := _NUM_RE.search(_digits(got.text))) and len(m.group(0)) == 18:
        return Item(got.box, got.text, got.conf)
    return None


def _number_by_label(card: np.ndarray, items: list[Item], eng: Engine) -> Item | None:
    """The number strip the detector lost (a watermark or glare across it), read right of its label."""
    for it in items:
        key, rest = split_label(it.text, FRONT_LABELS[:1], True)
        if key == "number" and not rest:
            b, h = it.box, it.box.y1 - it.box.y0
            return _strip_at(card, b.x1 + 0.5, b.cy - h, CARD_W_MM - 1.0, b.cy + h, eng)
    return None


_SEX = re.compile("[男女]")
_ADDRESS_WORDS = re.compile("[省市县区镇乡村路街巷弄号组室栋楼]")
_DATEISH = re.compile(r"(1[89]|20)\d\d\D{0,2}\d{1,2}\D{0,2}\d{1,2}")


def _digits_agree(text: str, born: str) -> bool:
    """Whether a birth row whose 年月日 were lost still shows the date: its digits are the year, then month and
    day unpadded, with at most one digit more (a faint 日 read as 1)."""
    digits = re.sub(r"\D", "", text)
    year, month, day = born.split("-")
    want = year + str(int(month)) + str(int(day))
    if not digits.startswith(year) or not want[4:] or len(digits) > len(want) + 1:
        return False
    it = iter(digits[4:])
    return all(ch in it for ch in want[4:])  # month and day, in order, within the rest


def _kind(row: _Row) -> str | None:
    """What a row holds, from its label or else its content."""
    if row.key:
        return "sex" if row.key == "nation" else row.key
    text = row.text
    if nz.parse_birth(text) and _DATEISH.search(text):
        return "birth"
    if len(text) <= 8 and _SEX.search(text):
        return "sex"
    if len(text) >= 5 and (len(_ADDRESS_WORDS.findall(text)) >= 2 or text.startswith(province_prefixes())):
        return "address"  # a line of a place (its label lost under a note or glare)
    return None


_ORDER = ("name", "sex", "birth", "address")


def _place_rows(kinds: list[str | None]) -> list[str | None]:
    """Rows that say nothing take their place from the rows that do: name, sex, birth, address, in order."""
    out = list(kinds)
    for i, k in enumerate(kinds):
        if k is not None:
            continue
        known_before = [_ORDER.index(x) for x in out[:i] if x in _ORDER]
        known_after = [_ORDER.index(x) for x in kinds[i + 1:] if x in _ORDER]
        lo = max(known_before) if known_before else -1
        hi = min(known_after) if known_after else len(_ORDER)
        if lo == _ORDER.index("address") or (lo == _ORDER.index("birth") and hi == len(_ORDER)):
            out[i] = "address"  # every row after the birth date down to the number (unless 住址 is read below)
        elif hi - lo >= 2:
            out[i] = _ORDER[lo + 1]  # the next item not yet seen, when the rows below leave room for it
    return out


def _read_front(card: np.ndarray, items: list[Item], eng: Engine) -> CardText | None:
    num_item, cut = _number(items)
    if num_item is None:
        num_item = _number_by_label(card, items, eng)
    elif (m := _NUM_RE.search(_digits(num_item.text))) and len(m.group(0)) == 17:
        # one character short: the detector's box stopped before a digit glare or a smudge made faint
        b = num_item.box
        wider = _strip_at(card, b.x0 - 0.5, b.y0 - 0.3, min(b.x1 + 1.3 * b.w / 17, CARD_W_MM), b.y1 + 0.3, eng)
        num_item = wider or num_item
    if (num_item is None and not cut) or _other_document(items):
        return None  # neither the number nor a strip of it cut off by the frame, or another document
    num_cy = num_item.box.cy if num_item is not None else max(i.box.cy for i in items)
    # Above the number strip and left of the portrait: the holder's items.
    above = [i for i in items if i.box.cy < num_cy - 2.0 and i.box.x0 < _PORTRAIT_X_MM and _inside(i)]
    rows = [r for r in _parse_rows(above, FRONT_LABELS) if r.pieces or r.labels]
    out = CardText("front", False, strip_cut=num_item is None)
    f = out.fields

    kinds = [_kind(r) for r in rows]
    # A place's words are weaker evidence than a label or a date: no address above the name, sex or birth
    # (background print beside a card under perspective reads as places too).
    kinds = [None if k == "address" and r.key is None and {"name", "sex", "birth"} & set(kinds[i + 1:]) else k
             for i, (r, k) in enumerate(zip(rows, kinds))]
    kinds = _place_rows(kinds)
    by: dict[str, list[_Row]] = {}
    for r, k in zip(rows, kinds):
        if k:
            by.setdefault(k, []).append(r)

    birth = None
    if "birth" in by:
        r = by["birth"][0]
        birth = nz.parse_birth(r.text)
        if birth:
            f["birth"] = _field(r.pieces, birth)

    if num_item is not None:
        raw = max(_NUM_RE.findall(_digits(num_item.text)), key=len)
        number, repaired = repair(raw, birth)
        piece = [_Piece(num_item.box, raw, num_item.conf)]
        # a repaired number is the only consistent candidate, yet less certain than one read clean
        f["number"] = _field(piece, number, (1.0 if len(number) == 18 else 0.5) * (0.8 if repaired else 1.0))
        out.number_repaired = repaired
        if len(raw) >= 18:  # (the strip's share of a line its label merged into)
            share = len(raw) / max(len(num_item.text), len(raw))
            out.scale = share * num_item.box.w / (FRONT_ANCHORS["number_x1"] - FRONT_ANCHORS["number_x0"])
        born = birth_of(number)
        if born and "birth" in f and f["birth"].value != born and checksum_ok(number) \
                and _date_seen(born, _alternates(card, by["birth"][0].pieces, eng)):
            # The row's date is not the number's, but the recognizer also read the number's digits there (a
            # faint 4 read as 1, 4 its next reading): the print says the number's date. (An altered date reads
            # clear, with no such second reading, and still disagrees.)
            f["birth"] = _field(by["birth"][0].pieces, born, 0.9)
        if "birth" not in f and born:
            # a date line the rows did not place (perspective, a bent card): the one that is the number's
            for r in rows:
                if nz.parse_birth(r.text) == born:
                    f["birth"] = _field(r.pieces, born)
                    break
            else:
                # 年 月 日 are printed in the labels' pale ink, which a screen's moire or a copier can wipe out
                # while the digits stay: the birth row's digits then run together ("19786" "1" for 1978-6-1).
                for r in by.get("birth", []):
                    if _digits_agree(r.text, born):
                        f["birth"] = _field(r.pieces, born, 0.8)
                        break

    if "name" in by:
        r = by["name"][0]
        text, pieces = r.text, r.pieces
        name = nz.normalize_name(text)
        if len(name) == 1 and len(pieces) == 1:
            # No resident's name is one character (a surname and a given name): a faint one was dropped by the
            # recognizer, which reads a blurred line better from a crop cut closer above and below (the glyphs
            # come out larger in its fixed-height input), with a little more or less margin at the ends.
            b = pieces[0].box
            for pad in (0.0, 0.5, -0.5):
                wider = _layout_box(b.x0 - pad, b.y0 + 0.3, b.x1 + pad, b.y1 - 0.3)
                again, conf = eng.recognize([crop(card, wider)])[0]
                if len(nz.normalize_name(again)) >= 2 and conf >= 0.6:
                    text, pieces = again, [_Piece(wider, again, conf)]
                    break
        name = nz.normalize_name(_name_dots(text, pieces, card, eng))
        if name:
            f["name"] = _field(pieces, _simplified(name, pieces, card, eng))

    starts = [r.pieces[0].box.x0 for k in ("name", "birth", "address") for r in by.get(k, [])[:1] if r.pieces]
    _sex_nation(card, by.get("sex", []), f, eng, float(np.median(starts)) if starts else None)

    if "address" in by:
        values = [r.pieces[0].box.x0 for k in ("name", "birth") for r in by.get(k, [])[:1] if r.pieces]
        addr_rows = _address_rows(by["address"], float(np.median(values)) if values else None)
        pieces = [p for r in addr_rows for p in r.pieces]
        lines = [r.text for r in addr_rows]  # (a row's text keeps once what two overlapping boxes both read)
        last = addr_rows[-1] if addr_rows else None
        if last is not None and len(addr_rows) < 3:
            # A 1-2 character last line is easily missed by the detector: read the next line's place.
            pitch = (addr_rows[-1].cy - addr_rows[0].cy) / (len(addr_rows) - 1) if len(addr_rows) > 1 \
                else ADDRESS_PITCH_MM
            cy = last.cy + pitch
            x0 = min(p.box.x0 for p in last.pieces)
            if cy + 2.0 < num_cy - 3.0:
                got = _probe(card, _layout_box(x0 - 0.5, cy - 2.0, min(x0 + 37, _PORTRAIT_X_MM + 2), cy + 2.0), eng)
                if got and got.conf > 0.7 and re.search(r"[\d\u4e00-\u9fff]", got.text):  # not a lone mark
                    pieces.append(got)
                    lines.append(got.text)
        first = addr_rows[0].pieces if addr_rows else []  # the line holding the province, city and county

        @cache
        def read() -> Alternates:  # only when two names tie
            return _alternates(card, first, eng)

        joined = _simplified(nz.join_address(lines).strip(nz.SPECKS), pieces, card, eng)
        addr = correct_address(joined, f["number"].value[:6] if "number" in f else "", read)
        if addr:
            f["address"] = _field(pieces, addr)

    # An ID number alone is no ID card: a driving licence, a form or a letter print one too. A front shows
    # the holder's other items, or at least a line with the number's birth date. The foreigners' card prints
    # its items elsewhere (othertypes.py reads it): its number, 9 and a valid checksum, vouches for it.
    number = f["number"].value if "number" in f else ""
    others = sum(k in f for k in ("name", "sex", "nation", "birth", "address"))
    born = birth_of(number)
    vouched = (born is not None and any(nz.parse_birth(i.text) == born for i in items)
               ) or (len(number) == 18 and number.startswith("9") and checksum_ok(number))
    if others < 2 and not vouched:
        return None
    return out


def _sex_nation(card: np.ndarray, rows: list[_Row], f: dict[str, ReadField], eng: Engine,
                column: float | None = None) -> None:
    """Sex and nation from their row: 男/女 after 性别, the nation after 民族 (either may share a line).

    column: where the other values start (name, birth, address), the sex's place when its label is not read.
    """
    if not rows:
        return
    # 性别 and 民族 may fall in two rows of their own on a slanted card: one row of both
    r = _Row([i for x in rows for i in x.items], "sex", [p for x in rows for p in x.pieces],
             [lab for x in rows for lab in x.labels])
    # Split the row's text at the 民族 label, whichever line it sits in.
    sex_pieces: list[_Piece] = []
    nat_pieces: list[_Piece] = []
    for p in r.pieces:
        key, rest = split_label(p.text, FRONT_LABELS, False)
        if key == "nation":
            nat_pieces.append(_Piece(p.box, rest, p.conf))
            continue
        i = p.text.find("民族")
        if i >= 0:
            sex_pieces.append(_Piece(p.box, p.text[:i], p.conf))
            nat_pieces.append(_Piece(p.box, p.text[i + 2:], p.conf))
        elif nat_pieces or any(k == "nation" and it.box.x1 <= p.box.x0 + 1 for k, it in r.labels):
            nat_pieces.append(p)
        else:
            sex_pieces.append(p)
    for p in sex_pieces:
        if m := _SEX.search(p.text):
            n = len(p.text)
            f["sex"] = _field([_Piece(_shrink_left(p.box, m.start() / n, m.end() / n), m.group(0), p.conf)], m.group(0))
            break
    if "sex" not in f:
        sex_label = next((it for k, it in r.labels if k == "sex"), None)
        if sex_label is not None:
            # A lone character the detector missed (glare, blur): read just right of its label.
            b = sex_label.box
            h = b.y1 - b.y0
            got = _probe(card, _layout_box(b.x1 + 0.3, b.y0 - 0.3 * h, b.x1 + 4.0 * h, b.y1 + 0.3 * h), eng)
            if got and (m := _SEX.search(got.text)):
                f["sex"] = _field([got], m.group(0))
        elif column is not None and r.pieces and min(p.box.x0 for p in r.pieces) > column + 3.0:
            # Neither the label nor the lone character read (pale label ink under a screen's moire): the sex
            # stands in the values' column, on the row's line, left of what was read there.
            b = min(r.pieces, key=lambda p: p.box.x0).box
            h = b.y1 - b.y0
            right = min(b.x0 - 0.3, column + 1.4 * h)  # one character
            got = _probe(card, _layout_box(column - 0.5, b.y0 - 0.1 * h, right, b.y1 + 0.1 * h), eng)
            if got and (m := _SEX.fullmatch(got.text)):
                f["sex"] = _field([got], m.group(0), 0.9)
    if not nat_pieces:
        # no 民族 label read: a piece after the sex that is a nation's name
        nat_pieces = [p for p in sex_pieces if not _SEX.fullmatch(p.text) and nz.snap_nation(p.text)][-1:]
    nat_text = "".join(p.text for p in nat_pieces)
    nat = nz.snap_nation(nat_text) if nat_text else None
    if nat:
        f["nation"] = _field(nat_pieces, nat[0], nat[1])
    if ("sex" not in f or "nation" not in f) and r.items:
        _sex_nation_by_likelihood(card, r.items, f, eng)


def _sex_nation_by_likelihood(card: np.ndarray, items: list[Item], f: dict[str, ReadField], eng: Engine) -> None:
    """Sex and nation where their row read as neither: each value the row may hold (男/女, the 56 nations,
    their labels or not) is scored against the recognizer's per-frame evidence on each of the row's lines
    (ctc.py). A value is taken where it explains the line far better than any other value (_MARGIN) and the
    recognizer did see each of its characters there (ALTERNATE_MIN in some frame): a line of other text
    scores some value best too, but rarely shows its characters."""
    cs = eng.charset
    cands, texts = _sex_nation_candidates(cs)
    for it in items:
        probs = eng.frames(crop(card, it.box))
        ll = log_likelihoods(probs, texts, silent=(cs[" "],) if " " in cs else ())
        best = int(np.argmax(ll))
        for k, key in enumerate(("sex", "nation")):
            value = cands[best][k]
            if key in f or not value:
                continue
            rival = max(float(v) for c, v in zip(cands, ll) if c[k] != value)
            seen = all(float(probs[:, cs[ch]].max()) >= ALTERNATE_MIN for ch in value)
            if float(ll[best]) - rival >= _MARGIN and seen:
                f[key] = _field([_Piece(it.box, value, it.conf)], value, _LIKELIHOOD_CONF)


# 20:1 against every other value; the confidence of a value so chosen (below any read outright).
_MARGIN, _LIKELIHOOD_CONF = float(np.log(20.0)), 0.6


# (sex, nation) of each text a sex and nation row may hold, its labels printed or not
_SEX_NATION = [((sex, nation), pre + sex + mid + nation)
               for sex in ("", "男", "女") for nation in ("", *nz.NATIONS) if sex or nation
               for pre in (("", "性别") if sex else ("",)) for mid in (("", "民族") if nation else ("",))]


def _sex_nation_candidates(cs: dict[str, int]) -> tuple[list[tuple[str, str]], list[list[int]]]:
    """(sex, nation) of each text the row may hold, and the text as the recognizer's classes."""
    kept = [(c, t) for c, t in _SEX_NATION if all(ch in cs for ch in t)]
    return [c for c, _ in kept], [[cs[ch] for ch in t] for _, t in kept]


def _address_rows(rows: list[_Row], column: float | None = None) -> list[_Row]:
    """The address's lines: from its first row down, while they start in its column and follow closely.

    column: where the name and birth values start. A line starting there continues the address even when the
    first line's box began further left (a note's stroke across the card merged into it)."""
    out: list[_Row] = []
    for i, r in enumerate(rows):
        if i == 0 and not r.pieces and r.key == "address":
            continue  # the 住址 label alone: its first line lost (a note over it), the next ones still read
        if not r.pieces or r.key not in (None, "address"):
            break
        r = _Row(r.items, r.key, [p for j, p in enumerate(r.pieces) if j == 0 or not _scrawl(p)], r.labels)
        if out:
            x0 = min(p.box.x0 for p in out[0].pieces)
            h = out[-1].pieces[0].box.y1 - out[-1].pieces[0].box.y0
            at = min(p.box.x0 for p in r.pieces)
            aligned = abs(at - x0) <= 2.5 * h or (column is not None and abs(at - column) <= 1.0 * h)
            if not aligned or r.cy - out[-1].cy > 3.0 * h:
                break
        out.append(r)
        if len(out) == 4:
            break
    return out


def _scrawl(p: _Piece) -> bool:
    """A box far wider than the characters read in it: a few strokes of a note written across the card, of
    which the recognizer made a character or two. A printed character is about as wide as its line is high
    (a digit half that): one reading wider than 1.5 line heights per character is no print."""
    h = p.box.y1 - p.box.y0
    return len(p.text) <= 2 and p.box.w > 1.5 * h * len(p.text)


# --------------------------------------------------------------------------- back


_TITLES = ("居民身份证", "身份证", "中华人民共和国", "共和国")
_AUTHORITY = re.compile("公安|分局|局$")
_RANGE = re.compile(r"\d{4}\D?\d{1,2}\D?\d{1,2}.{0,3}(\d{4}|长期|長期)")


def _read_back(items: list[Item], card: np.ndarray | None = None, eng: Engine | None = None) -> CardText | None:
    """card and eng: to read where the detector found nothing right of the 签发机关 label."""
    items = [i for i in items if _inside(i)]
    rows = _parse_rows(items, BACK_LABELS)
    title = "".join(i.text for i in items if any(k in i.text for k in _TITLES))
    titled = bool(title)
    # Validity: the row labelled 有效期限, else the row that reads as a date range.
    val_rows = [r for r in rows if r.key == "validity"] + [
        r for r in rows if r.key is None and _RANGE.search(r.text)
    ]
    vfrom = vto = None
    val_row = None
    for r in val_rows:
        if r.key is None and _label_apart(r.pieces, _RANGE):
            r.pieces = r.pieces[1:]
        vfrom, vto = nz.parse_validity(r.text)
        if vfrom or vto:
            val_row = r
            break
    if (not titled and not vfrom) or _other_document(items):
        return None
    out = CardText("back", False, title=title)
    for it in sorted(items, key=lambda i: -i.box.w):
        for text, key in (("居民身份证", "title2"), ("中华人民共和国", "title1")):
            if text in it.text and out.scale is None:
                out.scale = it.box.w / (BACK_ANCHORS[f"{key}_x1"] - BACK_ANCHORS[f"{key}_x0"])
    f = out.fields
    # Authority: the row labelled 签发机关, else the row just above the validity that names a police office.
    auth_row = next((r for r in rows if r.key == "authority"), None)
    if auth_row is None and val_row is not None:
        above = [r for r in rows if r.cy < val_row.cy and not any(k in r.text for k in _TITLES)]
        if above and _AUTHORITY.search(above[-1].text):
            auth_row = above[-1]
    if auth_row is not None and auth_row.key is None and _label_apart(auth_row.pieces, _AUTHORITY):
        auth_row.pieces = auth_row.pieces[1:]
    auth = auth_row.text.strip(nz.SPECKS) if auth_row is not None else ""
    if auth_row is not None and auth_row.key is None:
        # Known by its content, not its label: a label misread in the same box ("差发机关江阴市公安局") still
        # leads it, wherever the line starts (an office's name never begins like 签发机关).
        key, rest = split_label(auth, BACK_LABELS, at_line_start=True)
        auth = rest.strip(nz.SPECKS) if key == "authority" else auth
    if auth:
        office = _office(auth)
        if card is not None and eng is not None and office_known(office) is False:
            # A name the area table does not know: a look-alike the recognizer also read there may be it.
            office = mend_office(office, _alternates(card, auth_row.pieces, eng))  # type: ignore[union-attr]
        f["authority"] = _field(auth_row.pieces, office)  # type: ignore[union-attr]
    elif auth_row is not None and auth_row.labels and card is not None and eng is not None:
        # The label alone: its value merged into a note's strokes across the card, or too faint to box.
        b = auth_row.labels[0][1].box
        h = b.y1 - b.y0
        got = _probe(card, _layout_box(b.x1 + 0.5, b.y0 - 0.15 * h, CARD_W_MM - 2.0, b.y1 + 0.15 * h), eng)
        if got is not None and got.conf >= 0.8 and _AUTHORITY.search(got.text):
            f["authority"] = _field([got], _office(got.text[: got.text.rfind("局") + 1 or None]))
    if vfrom and vto and vto != nz.LONG_TERM and vfrom[5:] != vto[5:] and card is not None and eng is not None:
        vfrom, vto = _same_day(vfrom, vto, _alternates(card, val_row.pieces, eng))  # type: ignore[union-attr]
    if vfrom:
        f["valid_from"] = _field(val_row.pieces, vfrom)  # type: ignore[union-attr]
    if vto:
        f["valid_to"] = _field(val_row.pieces, vto)  # type: ignore[union-attr]
    if not f and _title_pair(items):
        return out  # a back by its titles alone, its small print too blurred to read (the reader takes it last)
    if not f or (not vfrom and "authority" not in f):
        return None  # a title alone: a page quoting 中华人民共和国, not a card's back
    return out


def _title_pair(items: list[Item]) -> bool:
    """Both of a back's titles, each a line of its own, 居民身份证 under 中华人民共和国 and centred with it: the
    card's back even where its small print is too blurred to read (a page quoting the titles runs them into
    one heading, 中华人民共和国居民身份证法)."""
    one = [i for i in items if i.text.strip(nz.SPECKS) == "中华人民共和国"]
    two = [i for i in items if i.text.strip(nz.SPECKS) == "居民身份证"]
    return any(b.box.cy > a.box.cy and abs(b.box.cx - a.box.cx) < 0.25 * b.box.w for a in one for b in two)


def _same_day(vfrom: str, vto: str, read: Alternates) -> tuple[str, str]:
    """A validity range whose two dates fall on different days put right: a term runs whole years, so both
    print one month and day, and where they differ one date's digit is misread (6 for 8). Each date takes
    the other's digits only where the recognizer also read them there (`read`: the row's characters with
    their readings, the two dates' 16 digits in order); when neither or both do, the range stays as read."""
    digits = [(ch, options) for ch, options in read if ch.isdigit()]
    a, b = vfrom.replace("-", ""), vto.replace("-", "")
    if "".join(ch for ch, _ in digits) != a + b:
        return vfrom, vto
    differ = [j for j in range(4, 8) if a[j] != b[j]]
    to_b = all(also_read(b[j], digits[j][1]) for j in differ)  # vfrom misread: it takes vto's day
    to_a = all(also_read(a[j], digits[8 + j][1]) for j in differ)
    if to_b == to_a:
        return vfrom, vto

    def put(date: str, day: str) -> str:
        return date if nz.parse_date(date[:5] + day) is None else date[:5] + day

    return (put(vfrom, vto[5:]), vto) if to_b else (vfrom, put(vto, vfrom[5:]))


def _label_apart(pieces: list[_Piece], value: re.Pattern[str]) -> bool:
    """The first piece of a back row known by its content (`value`: an office, a date range) is its label
    read as anything ("BEAR", "NOEN"): boxed apart in the label column, well left of where the value
    begins, holding no part of the value while the pieces after it do."""
    if len(pieces) < 2 or (b := pieces[0].box).x0 > pieces[1].box.x0 - 8.0 or b.cx > pieces[1].box.x0:
        return False
    return not value.search(pieces[0].text) and bool(value.search(_text(pieces[1:])))


def _alternates(card: np.ndarray, pieces: list[_Piece], eng: Engine) -> Alternates:
    """The recognizer's characters of these pieces of a row, each with its other readings there."""
    return [r for p in pieces for r in eng.read_alternates(crop(card, p.box))]


# A mark between two parts of a name (the recognizer's reading of a small raised dot: "-", "_", "'").
_NAME_MARK_CHAR = "[^\u3400-\u9fff\\s·・•･‧⋅∙.。°]"
_NAME_MARK = re.compile(f"(?<=[\u3400-\u9fff]){_NAME_MARK_CHAR}(?=[\u3400-\u9fff])")


def _name_dots(text: str, pieces: list[_Piece], card: np.ndarray, eng: Engine) -> str:
    """The name's line with a mark between two of its characters put as the · that joins a minority name's
    parts ("迪丽拜尔-库尔班"), where the recognizer also read · there; other marks are dust, dropped later."""
    if not _NAME_MARK.search(text):
        return text
    read = _alternates(card, pieces, eng)
    dots = {(read[i - 1][0], read[i + 1][0]) for i in range(1, len(read) - 1)
            if re.fullmatch(_NAME_MARK_CHAR, read[i][0]) and also_read("·", read[i][1])}
    return _NAME_MARK.sub(lambda m: "·" if (m.string[m.start() - 1], m.string[m.end()]) in dots else m[0], text)


def _simplified(value: str, pieces: list[_Piece], card: np.ndarray, eng: Engine) -> str:
    """The value with each traditional character (賈) put in its simplified form (贾), as cards print them,
    where the recognizer also read that form there. (Not without: a name may keep a character that a
    converter would change.)"""
    plain = nz.simplified(value)
    if plain == value:
        return value
    read = _alternates(card, pieces, eng)
    seen = {ch for ch, options in read for simple in [nz.simplified(ch)] if simple != ch
            and also_read(simple, options)}
    return "".join(nz.simplified(ch) if ch in seen else ch for ch in value)


def _date_seen(date: str, read: Alternates) -> bool:
    """The recognizer also read `date` (YYYY-MM-DD) in a printed date line: the line's last three runs of
    digits are its year, month and day, and each digit that differs was among its readings there."""
    runs: list[Alternates] = []
    after_digit = False
    for ch, options in read:
        if ch.isdigit():
            if not after_digit:
                runs.append([])
            runs[-1].append((ch, options))
        after_digit = ch.isdigit()
    if len(runs) < 3:
        return False
    for run, want in zip(runs[-3:], date.split("-")):
        if len(run) != len(want):
            want = want.lstrip("0")  # month and day are printed without a leading zero
        if len(run) != len(want) or not all(ch == w or also_read(w, options) for (ch, options), w in zip(run, want)):
            return False
    return True


def _office(text: str) -> str:
    """The issuing office as read, put right: its last 局, a label's tail boxed with it. (Its district is not
    snapped to the area table: offices keep a district's old name on cards issued before it was renamed, as
    邢台市公安局桥西分局, now 信都区, one character off 临西县.)"""
    return drop_label_tail(nz.normalize_authority(text))


def warp_quad_back(quad_canon: np.ndarray, h_inv: np.ndarray, flipped: bool) -> np.ndarray:
    """Canonical upright-card px -> original image px."""
    q = quad_canon.astype(np.float32)
    if flipped:
        q = np.array([CANON_W, CANON_H], np.float32) - q
        q = np.roll(q, 2, axis=0)
    return cv2.perspectiveTransform(q.reshape(-1, 1, 2), h_inv).reshape(-1, 2)


__all__ = ["OTHER_TITLES", "CardText", "ReadField", "cut_fields", "read_side", "split_label",
           "warp_quad_back"]
