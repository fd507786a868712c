"""Quality flags, score and image_status on rendered images; the cut-off rule on made-up quads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from idcard_ocr.checks import assess
from idcard_ocr.checks.quality import cut_off
from idcard_ocr.engine import Engine
from idcard_ocr.model import CardChecks
from idcard_ocr.pipeline import Detailed
from tools.synth import make_sample

Check = Callable[[int, str, str], tuple[Detailed, CardChecks]]


@pytest.fixture(scope="module")
def check(detailed: Callable[[int, str], Detailed], engine: Engine) -> Check:
    def _check(seed: int, condition: str, side: str = "auto") -> tuple[Detailed, CardChecks]:
        d = detailed(seed, condition)
        return d, assess(d, side_requested=side, engine=engine)

    return _check


@pytest.mark.parametrize("seed", [101, 104])
def test_clean_is_normal(check: Check, seed: int) -> None:
    _, c = check(seed, "clean")
    q = c.quality
    assert (q.blur, q.over_exposure, q.under_exposure, q.glare, q.cut_off, q.covered, q.too_small) == (
        False, False, False, False, False, False, False), q
    assert q.image_status == "normal"
    assert q.score is not None and q.score >= 80
    assert {"edge_width", "clip_hi", "median", "px_per_mm"} <= set(q.measures)


@pytest.mark.parametrize("seed", [101, 107])
def test_blur_is_flagged(check: Check, seed: int) -> None:
    _, c = check(seed, "blur")
    assert c.quality.blur is True, c.quality
    assert c.quality.image_status == "blurred"
    assert c.quality.score is not None and c.quality.score < check(101, "clean")[1].quality.score  # type: ignore[operator]


def test_exposure_flags(check: Check) -> None:
    _, over = check(101, "overexposed")
    assert over.quality.over_exposure is True and over.quality.under_exposure is False
    assert over.quality.image_status == "over_exposure"
    _, under = check(101, "underexposed")
    assert under.quality.under_exposure is True and under.quality.over_exposure is False
    assert under.quality.image_status == "over_dark"


def test_glare_over_a_field(check: Check) -> None:
    # Seed 108: the renderer's highlight washes a field out by 0.48 on average (truth flag set).
    assert make_sample(108, "glare").truth.flags["glare"]
    _, c = check(108, "glare")
    assert c.quality.glare is True, c.quality
    assert c.quality.image_status == "over_exposure"  # 003: 关键字段反光或过曝


def test_reversed_side(check: Check) -> None:
    d, c = check(101, "clean", "back")
    assert d.reading.side == "front"
    assert c.quality.image_status == "reversed_side"
    _, same = check(101, "clean", "front")
    assert same.quality.image_status == "normal"


def test_other_card_type_status(check: Check) -> None:
    _, c = check(101, "permit")
    assert c.card_type == "permit"
    assert c.quality.image_status == "other_type_card"


def test_cut_off_rule() -> None:
    size = (1000, 700)
    inside = np.array([[100, 100], [900, 110], [890, 600], [95, 590]], np.float64)
    assert cut_off([inside], size) is False
    over = inside + np.array([0, -150])  # top edge 50 px above the image
    assert cut_off([over], size) is True
    # Snapped to what is visible: an edge along the top border, the quad squashed to aspect 2.
    squashed = np.array([[100, 2], [900, 2], [900, 402], [100, 402]], np.float64)
    assert cut_off([squashed], size) is True
    assert cut_off([], size) is None


def test_cut_off_render(check: Check) -> None:
    # Seed 101: the card runs off the frame and the reader still finds it.
    s = make_sample(101, "cut_off")
    d, c = check(101, "cut_off")
    if not d.reading.cards:
        pytest.skip("reader found no card in this cut-off image")
    assert s.truth.flags["cut_off"]
    assert c.quality.cut_off is True
    assert c.warnings.incomplete is True


@pytest.mark.parametrize("seed", [60_250_000, 60_250_003])
def test_a_thumb_over_the_card_is_covered(check: Check, seed: int) -> None:
    # tools.synth variant "covered": a thumb reaching in over one edge of the card (dev seeds).
    assert make_sample(seed, "covered").truth.flags["covered"]
    d, c = check(seed, "covered")
    if not d.reading.cards:
        pytest.skip("the thumb hid what the reader needs to find this card")
    assert c.quality.covered is True, c.quality.measures
    assert any("covers" in r for r in c.quality.reasons)
    assert c.warnings.incomplete is True
