"""Cards placed by their key lines (no clean outline): one detection pass where one suffices."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from conftest import rendered

from idcard_ocr.engine import Engine
from idcard_ocr.orient import long_lines, place_by_key_lines, placed_card_areas
from idcard_ocr.pipeline import read_detailed


class _Counting:
    """The engine, with each detection's size limit recorded."""

    def __init__(self, eng: Engine) -> None:
        self._eng = eng
        self.detections: list[int] = []

    def detect(self, img: np.ndarray, max_side: int = 960, box_thresh: float = 0.5) -> Any:
        self.detections.append(max_side)
        return self._eng.detect(img, max_side=max_side, box_thresh=box_thresh)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._eng, name)


def test_card_behind_a_screen_is_placed_from_the_lines_already_detected(engine: Engine) -> None:
    # The screen's outline is found first and the card read in it, not on its own outline: the card is placed
    # by its key lines, taken from that read's detection, with no second detection over the whole frame.
    s = rendered(0, "screen")
    eng = _Counting(engine)
    d = read_detailed(s.image, engine=eng, checks=False)  # type: ignore[arg-type]
    assert "fallback_ms" in d.reading.timings_ms  # the key-line placement ran
    assert 864 not in eng.detections  # no full-frame detection (orient.long_lines' size)
    assert d.reading.side == s.truth.side
    assert {k: f.value for k, f in d.reading.fields.items()} == s.truth.fields


def test_a_lines_placed_card_has_one_of_the_areas_the_skip_rule_expects(engine: Engine) -> None:
    # pipeline._find_cards skips recognizing a line that could only place a card of another size than the one
    # found: that needs placed_card_areas to predict place_by_key_lines' card for each kind of key line.
    img = rendered(1, "busy_background").image
    placed = 0
    for ln in long_lines(img, engine):
        quads = place_by_key_lines(img, [ln], engine)
        if quads:
            placed += 1
            area = cv2.contourArea(quads[0].astype(np.float32))
            assert min(abs(a / area - 1) for a in placed_card_areas(ln.quad)) < 0.01
    assert placed >= 1
