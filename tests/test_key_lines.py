"""Cards placed by their key lines (no clean outline): one detection pass where one suffices."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from idcard_ocr import pipeline
from idcard_ocr.engine import Engine
from idcard_ocr.orient import long_lines, place_by_key_lines, placed_card_areas

if TYPE_CHECKING:
    from tools.synth import Sample

Render = Callable[[int, str], "Sample"]


def test_lines_on_the_card_found_are_not_recognized_again(engine: Engine, render: Render,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # No outline found (as on a busy background where the card's edge is lost; made sure of here): the card is
    # placed by its longest line, and once it is read on its own outline the image's other long lines (on that
    # card, or too short or long for a card of its size) could place no card attempt() would take, so they are
    # not recognized.
    s = render(2, "busy_background")
    monkeypatch.setattr(pipeline, "outline_quads", lambda img: [])
    recognized: list[int] = []

    def placing(img: np.ndarray, lines: list[Any], eng: Engine) -> list[np.ndarray]:
        recognized.append(len(lines))
        return place_by_key_lines(img, lines, eng)

    monkeypatch.setattr(pipeline, "place_by_key_lines", placing)
    d = pipeline.read_detailed(s.image, engine=engine, checks=False)
    assert "fallback_ms" in d.reading.timings_ms  # the key-line placement ran
    assert d.reading.side == s.truth.side
    assert {k: f.value for k, f in d.reading.fields.items()} == s.truth.fields
    assert 1 <= sum(recognized) < len(long_lines(s.image, engine))


def test_a_lines_placed_card_has_one_of_the_areas_the_skip_rule_expects(engine: Engine, render: Render) -> None:
    # pipeline._find_cards skips recognizing a line that could only place a card of another size than the one
    # found: that needs placed_card_areas to predict place_by_key_lines' card for each kind of key line.
    img = render(1, "busy_background").image
    placed = 0
    for ln in long_lines(img, engine):
        quads = place_by_key_lines(img, [ln], engine)
        if quads:
            placed += 1
            area = cv2.contourArea(quads[0].astype(np.float32))
            assert min(abs(a / area - 1) for a in placed_card_areas(ln.quad)) < 0.01
    assert placed >= 1



def test_a_front_read_with_its_top_cut_off_is_read_again_grown(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A key line places a card through our layout: on a card printed off it (bench.run's layout-varied set,
    # sample 102: rows moved, text scaled) and seen in perspective, the quad came out too small, its top
    # cutting off the name row, and the refit found too few anchors to correct it. The sex row then sits far
    # above any place print puts it: the card is read again in a quad grown upward.
    from tools.synth import make_sample

    s = make_sample(20261126 * 100_003 + 102, "perspective", layout="varied")
    grown: list[float] = []
    top_cut = pipeline._top_cut_mm

    def measured(ct: Any) -> float:
        grown.append(top_cut(ct))
        return grown[-1]

    monkeypatch.setattr(pipeline, "_top_cut_mm", measured)
    got = pipeline.read(s.image, engine=engine)
    assert any(g > 0 for g in grown)
    assert got.side == "front" and {k: f.value for k, f in got.fields.items()} == s.truth.fields


@pytest.mark.parametrize("seed", [0, 4])
def test_a_card_read_in_the_screen_around_it_is_placed_by_the_key_lines_that_read_it(
        engine: Engine, render: Render, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    # The screen's outline is found first and its read holds the card, off the layout by many mm: the key lines
    # recognized in that read, mapped back into the image, place the card itself, with no full-image search.
    from idcard_ocr.locate import iou

    s = render(seed, "screen")
    truth = np.array(s.truth.quads[0], np.float32)
    read_in: list[float] = []
    read_quad = pipeline.read_quad

    def reading(img: np.ndarray, q: np.ndarray, *a: Any, **k: Any) -> Any:
        read_in.append(iou(q, truth))
        return read_quad(img, q, *a, **k)

    def searching(*a: Any, **k: Any) -> Any:
        raise AssertionError("the whole image searched for key lines")

    monkeypatch.setattr(pipeline, "read_quad", reading)
    monkeypatch.setattr(pipeline, "long_lines", searching)
    d = pipeline.read_detailed(s.image, engine=engine, checks=False)
    assert read_in[0] < 0.7  # the screen's outline first: this case is the one under test
    assert d.reading.side == s.truth.side
    assert {k: f.value for k, f in d.reading.fields.items()} == s.truth.fields
    assert iou(np.array(d.reading.cards[0].quad, np.float32), truth) > 0.9
