"""Card warnings on made-up Readings (exact cases) and on rendered images."""

from __future__ import annotations

import datetime as dt

from idcard_ocr.checks import assess
from idcard_ocr.checks.warnings import card_warnings
from idcard_ocr.engine import Engine
from idcard_ocr.model import Card, Checks, Field, Reading
from idcard_ocr.pipeline import read_detailed
from tools.synth import make_sample

TODAY = dt.date(2026, 1, 1)
_BOX = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def _reading(fields: dict[str, str], checks: Checks | None = None, sides: tuple[str, ...] = ("back",)) -> Reading:
    fs = {k: Field(value=v, confidence=0.99, box=_BOX) for k, v in fields.items()}
    cards = [Card(side=s, rotation=0, quad=_BOX, fields=fs) for s in sides]  # type: ignore[arg-type]
    return Reading(side=sides[0] if len(sides) == 1 else "both", fields=fs, checks=checks or Checks(),  # type: ignore[arg-type]
                   cards=cards, image_size=(100, 100))


def test_expired_and_long_term() -> None:
    back = {"authority": "某某县公安局", "valid_from": "2010-05-01", "valid_to": "2020-05-01"}
    w = card_warnings(_reading(back), "resident", cut_off=False, today=TODAY)
    assert w.expired is True and "expired on 2020-05-01" in w.reasons
    w = card_warnings(_reading({**back, "valid_to": "2030-05-01"}), "resident", False, TODAY)
    assert w.expired is False
    w = card_warnings(_reading({**back, "valid_to": "长期"}), "resident", False, TODAY)
    assert w.expired is False
    w = card_warnings(_reading({"authority": "某某县公安局"}), "resident", False, TODAY)
    assert w.expired is None and w.incomplete is True  # cannot tell; dates missing


def test_validity_term_from_the_reader_checks() -> None:
    back = {"authority": "x", "valid_from": "2010-05-01", "valid_to": "2020-05-01"}
    w = card_warnings(_reading(back, Checks(validity_term_ok=False)), "resident", False, TODAY)
    assert w.validity_term_mismatch is True
    w = card_warnings(_reading(back, Checks(validity_term_ok=True)), "resident", False, TODAY)
    assert w.validity_term_mismatch is False
    w = card_warnings(_reading(back, Checks()), "resident", False, TODAY)
    assert w.validity_term_mismatch is None
    # Residence permits run five years; temporary cards three months.
    permit = {"authority": "x", "valid_from": "2024-03-01", "valid_to": "2029-03-01"}
    assert card_warnings(_reading(permit), "permit", False, TODAY).validity_term_mismatch is False
    permit["valid_to"] = "2034-03-01"
    assert card_warnings(_reading(permit), "permit", False, TODAY).validity_term_mismatch is True


def test_number_mismatch() -> None:
    front = {"name": "张三", "number": "11010119900307123X"}
    w = card_warnings(_reading(front, Checks(birth_matches=True, sex_matches=False), ("front",)), "resident",
                      False, TODAY)
    assert w.number_mismatch is True and "number disagrees with the sex" in w.reasons
    w = card_warnings(_reading(front, Checks(birth_matches=True, sex_matches=True), ("front",)), "resident",
                      False, TODAY)
    assert w.number_mismatch is False
    w = card_warnings(_reading(front, Checks(), ("front",)), "resident", False, TODAY)
    assert w.number_mismatch is None


def test_multiple_cards() -> None:
    f = {"name": "张三"}
    assert card_warnings(_reading(f, sides=("front", "back")), "resident", False, TODAY).multiple_cards is False
    w = card_warnings(_reading(f, sides=("front", "front")), "resident", False, TODAY)
    assert w.multiple_cards is True and "2 cards in the image" in w.reasons


def test_incomplete_by_type() -> None:
    permit_front = {"name": "a", "sex": "男", "birth": "1990-01-01", "address": "b", "number": "810000199001011234"}
    r = _reading(permit_front, sides=("front",))
    assert card_warnings(r, "permit", False, TODAY).incomplete is False  # no nation on a permit
    w = card_warnings(r, "resident", False, TODAY)
    assert w.incomplete is True and "missing: nation" in w.reasons
    assert card_warnings(r, "permit", True, TODAY).incomplete is True  # cut off


def test_rendered_card_warnings(engine: Engine) -> None:
    # Seed 107 draws a back; the renderer's cards are valid on its fixed "today" (2026-01-01) or expired.
    s = make_sample(107, "clean")
    d = read_detailed(s.image, engine=engine)
    c = assess(d, engine=engine, today=TODAY)
    to = s.truth.fields["valid_to"]
    expected = False if to == "长期" else dt.date.fromisoformat(to) < TODAY
    assert c.warnings.expired is expected
    assert c.warnings.multiple_cards is False and c.warnings.incomplete is False
