"""GB 11643-1999 citizen ID numbers: check character, area lookup, birth/sex, and careful repair."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

from .model import Area

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")  # not str.isdigit(): it accepts "²" and "①", which int() rejects

# Characters an OCR engine returns for a digit, mapped to the digit (X only valid as the last char).
_TO_DIGIT = str.maketrans({
    "O": "0", "o": "0", "D": "0", "Q": "0", "U": "0",
    "I": "1", "l": "1", "|": "1", "i": "1", "L": "1", "!": "1",
    "Z": "2", "z": "2",
    "S": "5", "s": "5",
    "G": "6", "b": "6",
    "T": "7",
    "B": "8",
    "g": "9", "q": "9",
})
# Digit pairs OCR confuses (OCR-B 3/5, upside-down 6/9 and 4/7, and the usual 1/7, 0/8, 3/8).
_CONFUSABLE: dict[str, str] = {
    "0": "869", "1": "74", "2": "7", "3": "58", "4": "71", "5": "36", "6": "9580",
    "7": "142", "8": "3096", "9": "608",
}


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not _DIGITS.issuperset(first17):
        raise ValueError("need 17 digits")
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def checksum_ok(number: str) -> bool:
    return (
        len(number) == 18 and _DIGITS.issuperset(number[:17]) and number[17] in "0123456789X"
        and check_char(number[:17]) == number[17]
    )


def birth_of(number: str) -> str | None:
    """The number's birth date as YYYY-MM-DD, or None when those 8 digits are not a real date."""
    digits = number[6:14]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        d = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    if d.year < 1880 or d > dt.date.today():
        return None
    return d.isoformat()


def sex_of(number: str) -> str | None:
    """男 for an odd sequence digit, 女 for even."""
    if len(number) < 17 or number[16] not in _DIGITS:
        return None
    return "男" if int(number[16]) % 2 else "女"


@lru_cache(maxsize=1)
def _areas() -> dict[str, tuple[str, bool]]:
    raw = json.loads(resources.files(__package__).joinpath("data/areas.json").read_text("utf-8"))
    return {code: (name, bool(hist)) for code, (name, hist) in raw.items()}


def area_codes(include_historical: bool = False) -> list[str]:
    """District-level codes (not ending in 00), current ones unless asked otherwise."""
    return [
        c for c, (_, hist) in _areas().items()
        if not c.endswith("00") and (include_historical or not hist)
    ]


@lru_cache(maxsize=1)
def province_prefixes() -> tuple[str, ...]:
    """The first two characters of every province's name (新疆, 广东, 内蒙, 北京...): how an address begins."""
    return tuple(sorted({name[:2] for code, (name, _) in _areas().items() if code.endswith("0000")}))


def lookup_area(code: str) -> Area | None:
    """Province/city/district names for a 6-digit code, or None when the code is unknown."""
    areas = _areas()
    if code not in areas:
        return None
    name, historical = areas[code]
    prov = areas.get(code[:2] + "0000", (None, False))[0]
    city = areas.get(code[:4] + "00", (None, False))[0] if code[2:4] != "00" else None
    district = name if not code.endswith("00") else None
    if city in ("市辖区", "县", "市"):  # municipalities: the "city" level is a placeholder
        city = prov
    elif city is not None and "直辖" in city:  # 省直辖县级行政单位 etc.: no city level at all
        city = None
    return Area(code=code, province=prov, city=city, district=district, historical=historical)


def is_plausible(number: str) -> bool:
    """Checksum right, area code known, birth a real past date."""
    return checksum_ok(number) and number[:6] in _areas() and birth_of(number) is not None


def clean(raw: str) -> str:
    """Upper-case, drop separators, map letters that stand for digits (X kept only last)."""
    # NFKC turns full-width and decorated digits (１ ² ①) into ASCII; other non-ASCII is label or noise.
    raw = unicodedata.normalize("NFKC", raw)
    s = "".join(ch for ch in raw if (ch.isascii() and ch.isalnum()) or ch in "|×")
    if not s:
        return ""
    head, last = s[:-1], s[-1]
    head = head.translate(_TO_DIGIT)
    last = "X" if last in "xX×Kk" else last.translate(_TO_DIGIT)
    return (head + last).upper()


def repair(raw: str, birth: str | None = None) -> tuple[str, bool]:
    """Return (number, repaired).

    The cleaned number is kept as read unless it fails the checks; then a repair is taken only when it
    is the single candidate among one-character confusions (or a dropped trailing X) whose checksum,
    area code and birth date all agree, and which matches the printed birth date when one is given.
    """
    s = clean(raw)
    want_birth = birth if birth else None

    def good(n: str) -> bool:
        return is_plausible(n) and (want_birth is None or birth_of(n) == want_birth)

    if good(s):
        # Separators, width and case are not repairs; a substituted character is.
        return s, s != re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", raw).upper())
    candidates: set[str] = set()
    if len(s) == 17 and s.isdigit() and check_char(s) == "X":
        candidates.add(s + "X")
    if len(s) == 18:
        if s[17] == "8":  # a trailing X read as 8
            candidates.add(s[:17] + "X")
        for i, ch in enumerate(s):
            for alt in _CONFUSABLE.get(ch, ""):
                candidates.add(s[:i] + alt + s[i + 1:])
        printed = want_birth.replace("-", "") if want_birth else ""
        if len(printed) == 8 and birth_of(s) is None and sum(a != b for a, b in zip(s[6:14], printed)) <= 3:
            # date digits that are no date (a stamp or watermark across them, "19611067"): the printed birth
            # line says what they are; taken only with the checksum and area code agreeing. (A date that is one
            # stays: the strip's large digits are read more surely than the birth line.)
            candidates.add(s[:6] + printed + s[14:])
    found = [c for c in candidates if good(c)]
    if len(found) == 1:
        return found[0], True
    return s, False
