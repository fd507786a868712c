"""Portrait box against the renderer's photo box; head_rect; the base64 JPEG crops."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import cache

import cv2
import numpy as np
import pytest

from idcard_ocr.checks import assess, card_jpeg, portrait_jpeg
from idcard_ocr.checks.portrait import CARD_SIZE, PHOTO_SIZE
from idcard_ocr.engine import Engine
from idcard_ocr.model import CardChecks
from idcard_ocr.pipeline import Detailed
from tools.synth import Sample, make_sample

Check = Callable[[int, str], tuple[Sample, Detailed, CardChecks]]


@pytest.fixture(scope="module")
def check(detailed: Callable[[int, str], Detailed], engine: Engine) -> Check:
    @cache
    def _check(seed: int, condition: str) -> tuple[Sample, Detailed, CardChecks]:
        d = detailed(seed, condition)
        return make_sample(seed, condition), d, assess(d, engine=engine)

    return _check


def _iou(a: object, b: object) -> float:
    pa, pb = np.array(a, np.float32), np.array(b, np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    return float(inter / (cv2.contourArea(pa) + cv2.contourArea(pb) - inter))


@pytest.mark.parametrize(("seed", "condition"), [(101, "clean"), (102, "rot90"), (103, "perspective"),
                                                 (104, "rot180"), (101, "both_sides")])
def test_portrait_box_matches_truth(check: Check, seed: int, condition: str) -> None:
    s, d, c = check(seed, condition)
    assert s.truth.portraits, "renderer gives the photo box of a front"
    assert len(c.portraits) == 1
    p = c.portraits[0]
    assert d.reading.cards[p.card].side == "front"
    assert _iou(p.quad, s.truth.portraits[0]) >= 0.8


def test_head_rect_is_normalized(check: Check) -> None:
    _s, d, c = check(101, "clean")
    p = c.portraits[0]
    w, h = d.reading.image_size
    assert set(p.head_rect) == {"lt", "rt", "rb", "lb"}
    for name, (x, y) in zip(("lt", "rt", "rb", "lb"), p.quad):
        assert p.head_rect[name].x == pytest.approx(x / w, abs=1e-4)
        assert p.head_rect[name].y == pytest.approx(y / h, abs=1e-4)
    # An upright card: lt is left of rt and above lb; the photo sits in the card's right half.
    assert p.head_rect["lt"].x < p.head_rect["rt"].x and p.head_rect["lt"].y < p.head_rect["lb"].y
    card = np.array(d.reading.cards[0].quad)
    assert p.head_rect["lt"].x * w > card[:, 0].mean()
    left, top, bw, bh = p.box
    assert left >= 0 and top >= 0 and left + bw <= w and top + bh <= h and bw > 0 and bh > 0


def test_crops_are_fixed_size_jpegs(check: Check) -> None:
    _, d, c = check(102, "rot90")
    por = portrait_jpeg(d, c)
    card = card_jpeg(d)
    assert por is not None and card is not None
    p_img = cv2.imdecode(np.frombuffer(base64.b64decode(por), np.uint8), cv2.IMREAD_COLOR)
    c_img = cv2.imdecode(np.frombuffer(base64.b64decode(card), np.uint8), cv2.IMREAD_COLOR)
    assert (p_img.shape[1], p_img.shape[0]) == PHOTO_SIZE
    assert (c_img.shape[1], c_img.shape[0]) == CARD_SIZE
    # Upright: the face (darker hair and eyes) is in the photo; the card's upper left holds the name label.
    assert p_img.mean() < 245
    assert portrait_jpeg(d, c, index=3) is None and card_jpeg(d, index=3) is None


def test_back_has_no_portrait(check: Check) -> None:
    _, d, c = check(107, "clean")
    assert d.reading.side == "back"
    assert c.portraits == []


@pytest.mark.parametrize("dx_mm,dy_mm", [(0.0, 0.0), (-4.0, -3.5), (3.0, 4.0), (-2.0, 3.0)])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_person_rect_follows_a_photo_printed_off_the_layout(seed: int, dx_mm: float, dy_mm: float) -> None:
    """A photo printed a few mm from the layout's box is found where it is (long hair, white clothes and all)."""
    import random

    from idcard_ocr.checks.portrait import nominal_rect, person_rect
    from idcard_ocr.layout import CANON_H, CANON_W, PX_PER_MM
    from tools.synth.card import _portrait

    rng = random.Random(seed)
    card = np.full((CANON_H, CANON_W, 3), (238, 236, 232), np.uint8)
    card = cv2.add(card, np.random.default_rng(seed).integers(0, 6, card.shape, dtype=np.uint8))  # print texture
    nominal = nominal_rect("resident")
    x0, y0 = round(nominal[0] + dx_mm * PX_PER_MM), round(nominal[1] + dy_mm * PX_PER_MM)
    w, h = round(nominal[2] - nominal[0]), round(nominal[3] - nominal[1])
    card[y0:y0 + h, x0:x0 + w] = _portrait(rng, w, h, female=seed % 2 == 0)
    text = [(160, 60, 420, 110), (160, 140, 380, 180), (160, 220, 470, 320), (260, 440, 820, 500)]
    for tx0, ty0, tx1, ty1 in text:
        cv2.rectangle(card, (tx0, ty0 + 10), (tx1, ty1 - 10), (40, 40, 40), -1)  # dark text rows
    found = person_rect(card, nominal, text)
    assert found is not None
    truth = np.array([x0, y0, x0 + w, y0 + h], np.float64)
    # centred on it within 1.5 mm, and overlapping it as no box left at the layout's place could (IoU <= 0.72)
    assert abs((found[0] + found[2]) / 2 - (truth[0] + truth[2]) / 2) <= 1.5 * PX_PER_MM
    ix = max(0.0, min(found[2], truth[2]) - max(found[0], truth[0]))
    iy = max(0.0, min(found[3], truth[3]) - max(found[1], truth[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    assert ix * iy / (area(found) + area(truth) - ix * iy) >= 0.85


def test_person_rect_declines_a_card_without_a_person() -> None:
    from idcard_ocr.checks.portrait import nominal_rect, person_rect
    from idcard_ocr.layout import CANON_H, CANON_W

    card = np.full((CANON_H, CANON_W, 3), (238, 236, 232), np.uint8)
    assert person_rect(card, nominal_rect("resident"), [(160, 60, 420, 110)]) is None


def test_card_image_is_the_fronts_where_both_sides_show(check: Check) -> None:
    """A copy of both sides: the straightened card given back is the front's (the portrait's card; vendors
    answer the front first), whichever side the reader found first."""
    from idcard_ocr.checks import apply

    _s, d, c = check(5, "both_sides")  # (a page where the reader comes to the back first)
    sides = [v.card.side for v in d.views]
    assert sorted(sides) == ["back", "front"]
    got = apply(d.reading, c, d, images=True)
    assert got.card_image == card_jpeg(d, sides.index("front"))
    assert got.card_image != card_jpeg(d, sides.index("back"))
