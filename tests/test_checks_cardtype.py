"""Other card types: temporary card, residence permit (HK/Macao/Taiwan), foreigners' permanent residence card."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idcard_ocr.checks.cardtype import from_fields
from idcard_ocr.model import Card, CardChecks, Field
from idcard_ocr.pipeline import Detailed

Check = Callable[[int, str], tuple[Detailed, CardChecks]]
_BOX = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


@pytest.fixture(scope="module")
def check(assessed: Check) -> Check:
    return assessed


def _card(side: str, **fields: str) -> Card:
    return Card(side=side, rotation=0, quad=_BOX,  # type: ignore[arg-type]
                fields={k: Field(value=v, confidence=0.9, box=_BOX) for k, v in fields.items()})


def test_types_from_read_fields() -> None:
    k = from_fields(_card("front", number="810000199707151489"))
    assert k is not None and k.kind == "permit" and "Hong Kong" in k.reasons[0]
    k = from_fields(_card("front", number="830000198001011234"))
    assert k is not None and k.kind == "permit" and "Taiwan" in k.reasons[0]
    k = from_fields(_card("front", number="91264319751101174X"))
    assert k is not None and k.kind == "foreign"
    k = from_fields(_card("back", authority="M22930847签发次数04"))
    assert k is not None and k.kind == "permit"
    assert from_fields(_card("front", number="11010119900307123X")) is None


@pytest.mark.parametrize(("seed", "side"), [(101, "front"), (102, "back")])
def test_permit_is_typed(check: Check, seed: int, side: str) -> None:
    d, c = check(seed, "permit")
    assert d.reading.side == side
    assert c.card_type == "permit", c.card_type_reasons
    assert c.card_type_reasons


def test_foreign_card_is_typed(check: Check) -> None:
    d, c = check(101, "foreign")
    if not d.reading.cards:
        pytest.skip("reader found no card (foreign layout)")
    assert c.card_type == "foreign", c.card_type_reasons
    assert c.quality.image_status == "other_type_card"


@pytest.mark.parametrize("seed", [101, 103])
def test_temporary_card_is_typed_and_risk_temporary(check: Check, seed: int) -> None:
    d, c = check(seed, "temporary")
    if not d.reading.cards:
        pytest.skip("reader found no card (temporary layout)")
    assert c.card_type == "temporary", c.card_type_reasons
    assert c.risk is not None and c.risk.kind == "temporary"
    assert c.risk.scores["Temporary ID Photo"] > 0.5


def test_resident_card_stays_resident(check: Check) -> None:
    _, c = check(101, "clean")
    assert c.card_type == "resident"
    _, c = check(107, "clean")  # a back: the empty middle row stays empty, no title recognized
    assert c.card_type == "resident"
