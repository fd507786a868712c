"""Which kind of card each found card is: resident card, temporary card, residence permit (Hong Kong, Macao,
Taiwan residents) or the foreigners' permanent residence card.

Free evidence first (what the reader already read: the number's area code, title text caught in a field);
a title line is recognized only when the pixels hint at another type (a green card, text in the back's
empty middle row), so the plain resident card costs no extra recognition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..engine import Engine
from ..layout import CANON_W, GREEN_A, PX_PER_MM
from ..model import Card

PERMIT_AREAS = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}
_BACK_EMPTY_ROW_MM = (12.0, 29.5, 80.0, 35.0)  # blank on a resident back; 通行证号码 on a permit's
# Canonical regions (x0, y0, x1, y1 in mm) of the title line of a temporary card and of the back's second title
# line (居民身份证 / 港澳居民居住证). The temporary card's title sits above the resident layout's first row:
# where the reader fitted the card to that layout the title lands at y < 0, else at y 3-8; both are tried.
_FRONT_TITLES_MM = ((10.0, -6.0, 78.0, 4.5), (10.0, 2.0, 78.0, 9.5))
_BACK_TITLES_MM = ((21.0, 13.0, 85.0, 25.0),)


@dataclass
class CardKind:
    kind: str = "resident"
    reasons: list[str] = field(default_factory=list)
    title: str | None = None  # recognized title text, when a title was read


def _warp_region(img: np.ndarray, to_canon: np.ndarray, box_mm: tuple[float, float, float, float],
                 height: int = 48) -> np.ndarray:
    """The canonical-coordinate region box_mm cut from the original image, `height` px tall."""
    x0, y0, x1, y1 = (v * PX_PER_MM for v in box_mm)
    s = height / (y1 - y0)
    t = np.array([[s, 0, -x0 * s], [0, s, -y0 * s], [0, 0, 1]], np.float64)
    size = (max(8, round((x1 - x0) * s)), height)
    return cv2.warpPerspective(img, t @ to_canon, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _ink_fraction(upright: np.ndarray, box_mm: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = (round(v * PX_PER_MM) for v in box_mm)
    g = cv2.cvtColor(upright[y0:y1, x0:min(CANON_W, x1)], cv2.COLOR_BGR2GRAY)
    if g.size == 0:
        return 0.0
    bg = float(np.percentile(g, 90))
    return float(np.mean(g < bg - 60))


def from_fields(card: Card, title: str = "") -> CardKind | None:
    """Type from what the reader already read (fields, a back's title), or None if that says nothing beyond
    'resident'."""
    number = card.fields["number"].value if "number" in card.fields else ""
    if len(number) == 18 and number[:6] in PERMIT_AREAS:
        return CardKind("permit", [f"number area {number[:6]} ({PERMIT_AREAS[number[:6]]} resident)"])
    if len(number) == 18 and number.startswith("9"):
        return CardKind("foreign", ["18-digit number beginning with 9"])
    if "居住证" in title:
        return CardKind("permit", [f"title {title!r}"])
    text = "".join(f.value for f in card.fields.values())
    if "永久居留" in text or "外国人" in text:
        return CardKind("foreign", ["title 外国人永久居留身份证 read among the fields"])
    if "签发次数" in text or "通行证" in text:
        return CardKind("permit", ["签发次数 / 通行证号码 read on the back"])
    if "临时" in text:
        return CardKind("temporary", ["title 临时居民身份证 read among the fields"])
    return None


def title_request(card: Card, upright: np.ndarray, bg_a: float) -> tuple[tuple[float, float, float, float], ...]:
    """Title regions worth recognizing for this card; none when nothing hints at another type."""
    if card.side == "front" and bg_a <= GREEN_A:
        return _FRONT_TITLES_MM
    if card.side == "back" and _ink_fraction(upright, _BACK_EMPTY_ROW_MM) > 0.01:
        return _BACK_TITLES_MM
    return ()


def from_title(card: Card, text: str, bg_a: float) -> CardKind:
    t = text.replace(" ", "").strip("|")
    if "临时" in t or ("居民身份证" in t and card.side == "front"):
        reasons = [f"title {t!r}"] + (["green card"] if bg_a <= GREEN_A else [])
        return CardKind("temporary", reasons, t)
    if "居住证" in t:
        return CardKind("permit", [f"title {t!r}"], t)
    if "永久居留" in t:
        return CardKind("foreign", [f"title {t!r}"], t)
    return CardKind("resident", [], t)


def type_cards(img: np.ndarray, cards: list[Card], uprights: list[np.ndarray], to_canons: list[np.ndarray],
               bg_as: list[float], engine: Engine | None, titles: list[str] | None = None) -> list[CardKind]:
    """A CardKind per card; recognition runs once, batched, over the titles worth reading."""
    kinds: list[CardKind | None] = [from_fields(c, t) for c, t in zip(cards, titles or [""] * len(cards))]
    asks: list[tuple[int, np.ndarray]] = []
    for i, (c, up, h, a) in enumerate(zip(cards, uprights, to_canons, bg_as)):
        if kinds[i] is not None:
            continue
        for region in title_request(c, up, a):
            asks.append((i, _warp_region(img, h, region)))
    if asks and engine is not None:
        texts = engine.recognize([crop for _, crop in asks])
        joined: dict[int, str] = {}
        for (i, _), (text, _conf) in zip(asks, texts):
            joined[i] = joined.get(i, "") + "|" + text
        for i, text in joined.items():
            kinds[i] = from_title(cards[i], text, bg_as[i])
    out: list[CardKind] = []
    for i, k in enumerate(kinds):
        if k is None:
            asked = any(j == i for j, _ in asks)
            k = CardKind("resident", ["title read: resident"] if asked else [])
        out.append(k)
    return out


def overall(kinds: list[CardKind]) -> CardKind:
    """One type for the image: the first card that is not a plain resident card, else resident."""
    for k in kinds:
        if k.kind != "resident":
            return k
    return kinds[0] if kinds else CardKind("unknown", ["no card found"])
