"""The pure helpers the vendor mappings share."""

from __future__ import annotations

from server_helpers import make_reading

from idcard_ocr.server.mapping import box_rect, compact, dotted, pick_side, sides, unpadded, validity, ymd


def test_dates() -> None:
    assert ymd("1978-10-27") == ("1978", "10", "27")
    assert ymd("长期") is None
    assert dotted("2004-10-27") == "2004.10.27"
    assert compact("2004-10-27") == "20041027"
    assert dotted("长期") == compact("长期") == "长期"
    assert dotted("") == ""
    assert unpadded("03") == "3"


def test_validity() -> None:
    assert validity(make_reading("back")) == "2004.10.27-2024.10.26"
    assert validity(make_reading("back", {"authority": "x", "valid_from": "2004-10-27", "valid_to": "长期"})) == (
        "2004.10.27-长期"
    )
    assert validity(make_reading("back", {"authority": "x"})) == ""


def test_sides_and_pick() -> None:
    assert sides(make_reading("both")) == {"front", "back"}
    assert sides(make_reading("none")) == set()
    temporary = make_reading("front", {"name": "a", "authority": "b"})  # one side carrying both sides' fields
    assert sides(temporary) == {"front", "back"}
    assert pick_side(make_reading("both"), None) == "front"
    assert pick_side(make_reading("both"), "back") == "back"
    assert pick_side(make_reading("back"), "front") is None
    assert pick_side(make_reading("back"), None) == "back"


def test_box_rect() -> None:
    assert box_rect([(10.4, 20.6), (110.2, 21.0), (110.0, 60.5), (10.0, 60.0)]) == (10, 20, 101, 41)
    assert box_rect([(-5.0, -2.0), (50.0, -2.0), (50.0, 30.0), (-5.0, 30.0)]) == (0, 0, 50, 30)
