"""Pure helpers the vendor mappings share: sides a Reading shows, fields per side, date formats."""

from __future__ import annotations

import math
import re

from idcard_ocr.model import BACK_FIELDS, FRONT_FIELDS, Field, Reading

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
LONG_TERM = "长期"


def sides(reading: Reading) -> set[str]:
    """Card sides shown, from the Reading's side and the fields read (a temporary card has all)."""
    found = {"front", "back"} if reading.side == "both" else {reading.side} - {"none"}
    if any(name in reading.fields for name in FRONT_FIELDS):
        found.add("front")
    if any(name in reading.fields for name in BACK_FIELDS):
        found.add("back")
    return found


def pick_side(reading: Reading, wanted: str | None) -> str | None:
    """The side to answer with: ``wanted`` if shown, else front before back; None when no card was read."""
    shown = sides(reading)
    if wanted in ("front", "back"):
        return wanted if wanted in shown else None
    for side in ("front", "back"):
        if side in shown:
            return side
    return None


def value(reading: Reading, name: str) -> str:
    """A field's normalized value, or "" when it was not read."""
    field = reading.fields.get(name)
    return field.value if field else ""


def side_fields(reading: Reading, side: str) -> dict[str, Field]:
    names = FRONT_FIELDS if side == "front" else BACK_FIELDS
    return {name: reading.fields[name] for name in names if name in reading.fields}


def ymd(iso: str) -> tuple[str, str, str] | None:
    """("1978", "10", "27") from "1978-10-27"; None for anything else (e.g. 长期 or a value not read)."""
    match = _ISO.fullmatch(iso)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def dotted(iso: str) -> str:
    """ "2004.10.27" as printed on the card; 长期 and unreadable values pass through unchanged."""
    parts = ymd(iso)
    return ".".join(parts) if parts else iso


def compact(iso: str) -> str:
    """ "20041027" (PHP's Ymd); 长期 and unreadable values pass through unchanged."""
    parts = ymd(iso)
    return "".join(parts) if parts else iso


def validity(reading: Reading) -> str:
    """ "2004.10.27-2024.10.26" or "2004.10.27-长期", as printed; "" when neither date was read."""
    start, end = value(reading, "valid_from"), value(reading, "valid_to")
    if not start and not end:
        return ""
    return f"{dotted(start)}-{dotted(end)}"


def unpadded(part: str) -> str:
    """ "3" from "03"."""
    return str(int(part)) if part.isdigit() else part


def box_rect(points: list[tuple[float, float]]) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the axis-aligned rectangle around a quadrilateral, in whole pixels."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    return left, top, max(0, math.ceil(max(xs)) - left), max(0, math.ceil(max(ys)) - top)
