"""A copy's page is searched for a second card only where it holds ink besides the card found (pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from idcard_ocr.pipeline import _ink_elsewhere, _inner_pairs_first
from tools.synth import make_sample


@pytest.mark.parametrize("seed", [1000, 1001, 1002])
def test_ink_beside_the_card_tells_a_page_of_two_from_a_page_of_one(seed: int) -> None:
    one = make_sample(seed, "photocopy")  # one card on a white page (a note across it in `watermark`)
    two = make_sample(seed, "both_sides")
    assert len(one.truth.quads) == 1 and len(two.truth.quads) == 2
    assert not _ink_elsewhere(one.image, np.array(one.truth.quads[0], np.float32))
    for q in two.truth.quads:  # whichever card was found first, the other one's ink is beside it
        assert _ink_elsewhere(two.image, np.array(q, np.float32))


def _rect(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def test_two_cards_inside_a_page_are_read_before_the_page() -> None:
    page, top, bottom = _rect(50, 50, 1000, 1400), _rect(200, 200, 600, 380), _rect(200, 800, 600, 380)
    assert [id(q) for q in _inner_pairs_first([page, top, bottom])] == [id(top), id(bottom), id(page)]


@pytest.mark.parametrize("inner", [
    [_rect(200, 200, 600, 380)],  # one card on a screen: the screen's outline stays first (a refit finds the card)
    [_rect(200, 200, 600, 380), _rect(300, 300, 600, 380)],  # two outlines of one card
    [_rect(200, 200, 600, 380), _rect(200, 800, 200, 126)],  # two sizes: not two sides of one card
])
def test_other_nestings_keep_their_order(inner: list[np.ndarray]) -> None:
    page = _rect(50, 50, 1000, 1400)
    quads = [page, *inner]
    assert [id(q) for q in _inner_pairs_first(quads)] == [id(q) for q in quads]
