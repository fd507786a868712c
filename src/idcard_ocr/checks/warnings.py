"""Card-level warnings from what was read: expiry, validity term, number consistency, several cards, gaps."""

from __future__ import annotations

import datetime as dt

from .. import normalize as nz
from ..model import Reading, Warnings

# Fields each card type prints on each side (what "incomplete" is measured against).
EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "resident": {"front": ("name", "sex", "nation", "birth", "address", "number"),
                 "back": ("authority", "valid_from", "valid_to")},
    "permit": {"front": ("name", "sex", "birth", "address", "number"),
               "back": ("authority", "valid_from", "valid_to", "pass_number", "issue_count")},
    "temporary": {"front": ("name", "sex", "nation", "birth", "address", "number", "authority", "valid_from",
                            "valid_to")},
    "foreign": {"front": ("name", "name_en", "sex", "birth", "nationality", "number", "valid_from", "valid_to")},
}
KEY_FIELDS = {"front": ("name", "number"), "back": ("valid_from", "valid_to")}
_PERMIT_YEARS = 5  # residence permits for Hong Kong, Macao and Taiwan residents: five years


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _fixed_term_ok(valid_from: str | None, valid_to: str | None, years: int) -> bool | None:
    start, end = _date(valid_from), _date(valid_to)
    if start is None or end is None:
        return None
    try:
        expected = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        expected = start.replace(year=start.year + years, day=28)
    return end in (expected, expected - dt.timedelta(days=1))


def card_warnings(reading: Reading, card_type: str, cut_off: bool | None, today: dt.date | None = None,
                  covered: bool | None = None) -> Warnings:
    """Warnings for a Reading; `cut_off` and `covered` come from the quality check (card over the image border,
    something over the card)."""
    today = today or dt.date.today()
    w = Warnings()
    f = {k: v.value for k, v in reading.fields.items()}
    reasons: list[str] = []

    # Expiry: only a dated end can expire; 长期 never does.
    to = f.get("valid_to")
    if to:
        if nz.LONG_TERM in to:
            w.expired = False
        else:
            end = _date(to)
            if end is not None:
                w.expired = end < today
                if w.expired:
                    reasons.append(f"expired on {end.isoformat()}")

    # Validity term: the age rule for resident cards; fixed terms for permits (5 years) and the foreigners'
    # card (10 years, 5 under 18 at issue); three months for temporary cards.
    if card_type == "resident":
        ok = reading.checks.validity_term_ok
    elif card_type == "permit":
        ok = _fixed_term_ok(f.get("valid_from"), to, _PERMIT_YEARS)
    elif card_type == "temporary":
        start, end = _date(f.get("valid_from")), _date(to)
        ok = None if start is None or end is None else 80 <= (end - start).days <= 100
    elif card_type == "foreign":
        birth, start = _date(f.get("birth")), _date(f.get("valid_from"))
        adult = None if birth is None or start is None else (start.year - birth.year - (
            (start.month, start.day) < (birth.month, birth.day))) >= 18
        ok = None if adult is None else _fixed_term_ok(f.get("valid_from"), to, 10 if adult else 5)
    else:
        ok = None
    if ok is not None:
        w.validity_term_mismatch = not ok
        if not ok:
            reasons.append(f"validity term does not fit the {card_type} card's rule")

    c = reading.checks
    if c.birth_matches is not None or c.sex_matches is not None:
        w.number_mismatch = c.birth_matches is False or c.sex_matches is False
        if c.birth_matches is False:
            reasons.append("number disagrees with the birth date")
        if c.sex_matches is False:
            reasons.append("number disagrees with the sex")
    if c.checksum is False:
        reasons.append("number check character fails")

    sides = [card.side for card in reading.cards]
    # One front and one back is one card's two sides (a copy of both); more, or two of a side, are several.
    w.multiple_cards = len(sides) > 2 or (len(sides) == 2 and sides[0] == sides[1])
    if w.multiple_cards:
        reasons.append(f"{len(sides)} cards in the image")

    if reading.cards:
        expected = EXPECTED.get(card_type, EXPECTED["resident"])
        missing: list[str] = []
        for card in reading.cards:
            missing += [k for k in expected.get(card.side, ()) if k not in card.fields]
        w.incomplete = bool(missing) or bool(cut_off) or bool(covered)
        if missing:
            reasons.append("missing: " + ", ".join(dict.fromkeys(missing)))
        if cut_off:
            reasons.append("card cut off by the image border")
        if covered:
            reasons.append("part of the card covered")
    w.reasons = reasons
    return w
