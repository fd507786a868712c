"""Regression tests for causes found on another renderer's photos (../shared/external), each reproduced with a
card of ours: a motion blur read as a screen's grid, a pale front whose only colour is its thin labels read as
a grey copy, a colour copy read as an original, a thin face read as glare."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from idcard_ocr.checks import assess, card_features
from idcard_ocr.checks.risk import GRID_ONSET
from idcard_ocr.engine import Engine
from idcard_ocr.pipeline import read_detailed
from tools.synth import as_upload, make_sample

BACK_SEED = 204  # make_sample(204, "clean") is a back
FRONT_SEED = 101  # ... and 101 a front


def _read(engine: Engine, img: np.ndarray) -> tuple[list[dict[str, float]], str | None]:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    d = read_detailed(buf.tobytes(), engine=engine)
    assert d.views, "the card must be found"
    c = assess(d, engine=engine)
    return card_features(d), c.risk.kind if c.risk else None


def test_motion_blur_is_not_a_screen_grid(engine: Engine) -> None:
    """A horizontal motion blur shapes every window's spectrum alike (the frequencies along the blur's
    perpendicular keep their level): against its ring's mean that stood out like a pixel grid in every window
    (fft_consistent about 3.0 on this card, above a screen's 2.9). Against its neighbours it does not."""
    s = make_sample(BACK_SEED, "clean")
    assert s.truth.side == "back"
    k = np.ones((1, 12), np.float32)
    k[0, -1] = 2  # a streak ending in a brighter ghost, as a hand moving during the exposure leaves
    feats, kind = _read(engine, cv2.filter2D(s.image, -1, k / k.sum()))
    assert feats[0]["edge_width"] > 3.5  # it is blurred (the quality check says so too)
    assert feats[0]["fft_consistent"] < GRID_ONSET
    assert kind == "original"
    screen, _ = _read(engine, make_sample(101, "screen").image)
    assert screen[0]["fft_consistent"] > feats[0]["fft_consistent"] + 0.5


def test_pale_shadowed_front_is_an_original(engine: Engine) -> None:
    """A pale front (little colour beyond its blue labels) half in a cast shadow under a cool light, as another
    renderer's perspective photo was: over the whole card at a quarter of the resolution the labels' strokes
    blur into the background (chrom_p99 about 0.12, a grey copy's level is under 0.06), and the shadow's hard
    edge stood out in the spectrum against its ring: the previous checks called this card a screen. Per stroke,
    against the paper right beside it, the labels stay blue; a grey copy's ink does not."""
    s = make_sample(FRONT_SEED, "clean")
    assert s.truth.side == "front"
    f = s.image.astype(np.float32)
    grey = f.mean(axis=2, keepdims=True)
    label = (f[..., 0] > f[..., 2] + 25) & (grey[..., 0] < 200)  # the blue label strokes keep their ink
    label = cv2.dilate(label.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    pale = np.where(label[..., None], f, grey + (f - grey) * 0.3) * np.array([1.06, 1.0, 0.94], np.float32)
    h, w = pale.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    pale *= np.where(xx / w + yy / h < 1.0, 0.62, 1.0)[..., None]  # the shadow of a phone over one half
    feats, kind = _read(engine, np.clip(pale, 0, 255).astype(np.uint8))
    copy, copy_kind = _read(engine, make_sample(101, "photocopy").image)
    assert feats[0]["chrom_p99"] < 0.15
    assert feats[0]["ink_chroma"] > 0.1 > 3 * copy[0]["ink_chroma"]
    assert kind == "original"
    assert copy_kind == "photocopy"


@pytest.mark.parametrize("seed", [900, 902])
def test_colour_copy_from_an_unseen_copier_is_a_photocopy(engine: Engine, seed: int) -> None:
    """A colour copy keeps the card's colours, so "no colour" cannot tell it: the copier's print of the card's
    edge (a thin line with flat paper right outside, where a photographed card steps onto what it lies on or
    its shadow) does. toner_copy is a copier the model was never trained on (tools.synth HELD_OUT)."""
    s = make_sample(seed, "toner_copy")
    feats, kind = _read(engine, s.image)
    assert feats[0]["outline"] > 25
    assert kind == "photocopy"


@pytest.mark.parametrize("seed", [101, 102])
def test_original_on_a_light_desk_has_no_printed_outline(engine: Engine, seed: int) -> None:
    feats, kind = _read(engine, make_sample(seed, "clean").image)
    assert feats[0]["outline"] < 20
    assert kind == "original"


def test_thin_face_is_not_glare(engine: Engine) -> None:
    """Varied layouts print values in thin and smaller faces: their strokes cover a few per cent of a 4 mm tile,
    so the tile's 5th percentile fell beside them and the whole field read as washed out (a lift of 0.28 on this
    back's validity line, over the back's limit). The 1st percentile lies on the strokes."""
    s = make_sample(300, "clean", layout="varied")
    d = read_detailed(as_upload(s), engine=engine)
    c = assess(d, engine=engine)
    assert not s.truth.flags["glare"]
    assert c.quality.glare is False
    assert c.quality.measures["glare_lift"] < 0.2


def test_cast_shadow_is_not_a_cover(engine: Engine) -> None:
    """A cast shadow over part of the card darkened its background far from the card's own (a cover share of
    0.58 on this card): against the light on the paper around each pixel, the shadowed print is the card's
    again. A thumb is not paper-coloured: it keeps its light from the paper beside it, and stays a cover."""
    s = make_sample(31_700_001, "shadow")
    d = read_detailed(as_upload(s), engine=engine)
    c = assess(d, engine=engine)
    assert card_features(d)[0]["cover_share"] < 0.1
    assert c.quality.covered is False
    thumb = make_sample(31_700_000, "covered")
    d = read_detailed(as_upload(thumb), engine=engine)
    assert thumb.truth.flags["covered"]
    assert assess(d, engine=engine).quality.covered is True


def test_overshooting_quad_is_not_cut_off(engine: Engine) -> None:
    """A card printed off our layout, filling the frame: the reader's quad, placed from the print, overshoots the
    image by 50 px, but what lies at the border there is the desk, not the card: not cut off. A card that does
    run over the border shows its paper there."""
    s = make_sample(31_800_000, "large", layout="varied")
    d = read_detailed(as_upload(s), engine=engine)
    assert not s.truth.flags["cut_off"]
    assert assess(d, engine=engine).quality.cut_off is False
    cut = make_sample(31_800_003, "cut_off")
    d = read_detailed(as_upload(cut), engine=engine)
    assert cut.truth.flags["cut_off"]
    assert assess(d, engine=engine).quality.cut_off is True
