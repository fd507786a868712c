"""A copy's page is searched for a second card only where it holds ink besides the card found (pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from idcard_ocr.pipeline import _ink_elsewhere
from tools.synth import make_sample


@pytest.mark.parametrize("seed", [1000, 1001, 1002])
def test_ink_beside_the_card_tells_a_page_of_two_from_a_page_of_one(seed: int) -> None:
    one = make_sample(seed, "photocopy")  # one card on a white page (a note across it in `watermark`)
    two = make_sample(seed, "both_sides")
    assert len(one.truth.quads) == 1 and len(two.truth.quads) == 2
    assert not _ink_elsewhere(one.image, np.array(one.truth.quads[0], np.float32))
    for q in two.truth.quads:  # whichever card was found first, the other one's ink is beside it
        assert _ink_elsewhere(two.image, np.array(q, np.float32))
