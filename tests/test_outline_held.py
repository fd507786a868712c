"""A card printed off our layout whose outline its own edges hold is read on that outline, in one detection."""

from __future__ import annotations

import numpy as np
import pytest

from idcard_ocr import pipeline
from idcard_ocr.engine import Engine
from idcard_ocr.locate import Edges
from tools.synth import make_sample


@pytest.mark.parametrize(("seed", "condition"), [(3, "clean"), (1, "busy_background"), (2, "busy_background")])
def test_a_quad_off_the_card_is_less_held(seed: int, condition: str) -> None:
    s = make_sample(seed, condition)
    truth = np.array(s.truth.quads[0], np.float32)
    held = Edges(s.image).held
    assert held(truth) >= 0.7
    mm = float(np.linalg.norm(truth[1] - truth[0])) / 85.6
    for shift in (-10, -5, 5, 10):  # the top side moved off the card's edge, up or down
        off = truth.copy()
        off[:2, 1] += shift * mm
        assert held(off) <= held(truth) - 0.3, shift


def test_a_side_run_through_text_is_not_held() -> None:
    # A small card below pages of text: its outline with the top 10 mm higher runs through the pages' rows, dense
    # with edges, but edges that turn both ways.
    s = make_sample(0, "small")
    truth = np.array(s.truth.quads[0], np.float32)
    up = truth.copy()
    up[:2, 1] -= 10 * float(np.linalg.norm(truth[1] - truth[0])) / 85.6
    assert Edges(s.image).held(up) < 0.4


@pytest.mark.parametrize("seed", [3, 4])
def test_a_card_printed_off_the_layout_is_read_on_its_outline(seed: int, engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The varied layout moves each printed row by up to 4 mm: our layout's anchors fit it 2-4 mm off, and a refit
    # onto them would bend the quad off the card's edges. Those edges hold the outline: no second detection, and
    # the card (its quad, so its straightened image for the checks) is where it lies.
    s = make_sample(seed, "clean", layout="varied")
    calls: list[int] = []
    detect = engine.detect

    def counted(img: np.ndarray, *a: object, **k: object) -> list:  # type: ignore[type-arg]
        calls.append(1)
        return detect(img, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "detect", counted)
    r = pipeline.read(s.image, engine=engine)
    assert {k: f.value for k, f in r.fields.items()} == s.truth.fields
    assert len(calls) == 1
    truth = np.array(s.truth.quads[0], np.float64)
    err = np.linalg.norm(np.array(r.cards[0].quad, np.float64) - truth, axis=1)
    assert err.max() < 0.01 * float(np.linalg.norm(truth[1] - truth[0]))  # within ~1 mm at every corner


def test_a_card_whose_anchors_a_watermark_hides_is_read_on_its_held_outline(engine: Engine) -> None:
    # A watermark over the back moves its few anchors read ~10 mm off our layout: that alone said "not the card's
    # outline" and sent the image to the key-line search. The card's edges hold its outline: it is the card.
    s = make_sample(7, "watermark")
    r = pipeline.read(s.image, engine=engine)
    assert "fallback_ms" not in r.timings_ms
    assert r.side == "back" and {k: f.value for k, f in r.fields.items()} == s.truth.fields
    truth = np.array(s.truth.quads[0], np.float64)
    err = np.linalg.norm(np.array(r.cards[0].quad, np.float64) - truth, axis=1)
    assert err.max() < 0.02 * float(np.linalg.norm(truth[1] - truth[0]))
