"""rectify=False: a region cut from a card is read as it is (seed 003's detect_rectify=false)."""

from __future__ import annotations

import numpy as np

from idcard_ocr import read
from idcard_ocr.engine import Engine
from idcard_ocr.locate import straighten


def _upright(render, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    s = render(seed, "clean")
    return straighten(s.image, np.array(s.truth.quads[0], np.float32)), s.truth


def test_number_strip_alone(render, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    card, truth = _upright(render, 1)
    strip = card[425:505, 240:840]
    r = read(strip, engine=engine, rectify=False)
    assert r.side == "front"
    assert {k: f.value for k, f in r.fields.items()} == {"number": truth.fields["number"]}
    assert r.checks.checksum is True
    assert read(strip, engine=engine).side == "none"  # no card to find in it


def test_back_lines_alone(render, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    card, truth = _upright(render, 2)
    r = read(card[360:500, 140:760], engine=engine, rectify=False)
    assert r.side == "back"
    assert {k: f.value for k, f in r.fields.items()} == truth.fields


def test_nothing_in_a_blank_region(engine: Engine) -> None:
    r = read(np.full((80, 400, 3), 235, np.uint8), engine=engine, rectify=False)
    assert r.side == "none" and r.fields == {}
