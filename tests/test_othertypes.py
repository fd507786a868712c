"""Other card types read with their own fields: temporary card, residence permit, foreigners' card.

Unit tests of the label assignment (no engine), then rendered cards (tools.synth variants) read end to end.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from idcard_ocr.boxes import box_of
from idcard_ocr.model import Reading
from idcard_ocr.othertypes import TYPE_FIELDS, _assign_below, _assign_right, _Line, _rows, _text
from tools.synth import Sample


def _line(x0: float, x1: float, cy: float, text: str, h: float = 3.5) -> _Line:
    q = np.array([[x0, cy - h / 2], [x1, cy - h / 2], [x1, cy + h / 2], [x0, cy + h / 2]], np.float32) * 10
    return _Line(box_of(q), text, 0.9)


def test_values_right_of_their_labels() -> None:
    lines = [
        _line(5, 12, 10, "姓名"), _line(16, 30, 10, "张三"),
        _line(5, 40, 15, "性别男民族汉"),  # label, value, label, value in one detection
        _line(5, 12, 20, "住址"), _line(16, 50, 20, "北京市东城区"), _line(16, 40, 24.5, "东华门街道"),
        _line(5, 25, 30, "通行证号码H12345678"), _line(50, 60, 30, "签发次数"), _line(62, 66, 30, "03"),
    ]
    got = _assign_right(_rows(lines), TYPE_FIELDS["permit"] | {"nation"})
    assert {k: _text(v) for k, v in got.items()} == {
        "name": "张三", "sex": "男", "nation": "汉", "address": "北京市东城区东华门街道",
        "pass_number": "H12345678", "issue_count": "03",
    }


def test_labels_a_type_does_not_print_are_text() -> None:
    # A permit has no 民族: "民族汉" stays part of the sex value rather than making a field.
    got = _assign_right(_rows([_line(5, 40, 15, "性别男民族汉")]), TYPE_FIELDS["permit"])
    assert set(got) == {"sex"}


def test_values_below_their_labels_even_on_a_tilted_card() -> None:
    # The right column sits 1.5 mm higher than the left: rows would mix the columns, label columns do not.
    lines = [
        _line(30, 45, 24, "姓名/Name"), _line(30, 60, 27.5, "SMITH, JOHN"), _line(30, 45, 31.5, "史密斯·约翰"),
        _line(30, 42, 35.5, "性别/Sex"), _line(52, 75, 34.0, "出生日期/Date of Birth"),
        _line(30, 36, 39.0, "男/M"), _line(52, 64, 37.5, "1980.01.02"),
        _line(83, 95, 37.0, "广告牌"),  # no label above it: not a value
    ]
    got = {k: [p.text for p in v] for k, v in _assign_below(lines, TYPE_FIELDS["foreign"]).items()}
    assert got == {"name": ["SMITH, JOHN", "史密斯·约翰"], "sex": ["男/M"], "birth": ["1980.01.02"]}


# ---------------------------------------------------------------- rendered cards, read end to end

CASES = [("temporary", 7_100_001), ("temporary", 7_100_003), ("permit", 7_100_000), ("permit", 7_100_001),
         ("permit", 7_100_002), ("foreign", 7_100_000), ("foreign", 7_100_003)]


@pytest.mark.parametrize(("condition", "seed"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_read_with_their_own_fields(condition: str, seed: int, render: Callable[[int, str], Sample],
                                    read_rendered: Callable[[int, str], Reading]) -> None:
    s, r = render(seed, condition), read_rendered(seed, condition)
    assert r.card_type == s.truth.card_type
    assert r.side == s.truth.side
    assert {k: r.value(k) for k in s.truth.fields} == s.truth.fields
    assert "nation" not in r.fields or condition == "temporary"  # permits and foreigners' cards have none
    assert r.checks.validity_term_ok is None  # the resident age rule does not apply to them
    if "valid_to" in s.truth.fields:  # their own terms do
        assert r.warnings is not None and r.warnings.validity_term_mismatch is False
    for f in r.fields.values():
        assert len(f.box) == 4 and 0 < f.confidence <= 1
    # glare is judged on the resident layout's field places: for other types it is unknown, not "no glare"
    assert r.quality is not None and r.quality.glare is None


@pytest.mark.parametrize("seed", [60_300_003, 60_300_007, 60_300_009])
def test_a_driving_licence_gives_no_id_card_fields(seed: int, read_rendered: Callable[[int, str], Reading]) -> None:
    # Its 证号 is the holder's ID number and it prints 姓名/性别/住址: still not an ID card. (Seeds whose
    # number alone once passed for a front.)
    r = read_rendered(seed, "neg_driving_licence")
    assert r.side == "none" and r.fields == {} and r.cards == []
    assert r.quality is not None and r.quality.image_status in ("other_type_card", "non_idcard")
