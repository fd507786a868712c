"""Unit tests of the geometry: layout anchors and the refit (refine), card quads (locate). No OCR engine."""

from __future__ import annotations

import itertools
import math
import random

import cv2
import numpy as np
import pytest

from idcard_ocr.boxes import Box, box_of
from idcard_ocr.layout import ASPECT, BACK_ANCHORS, CANON_H, CANON_W, FRONT_ANCHORS, PX_PER_MM
from idcard_ocr.locate import (
    homography,
    inside_fraction,
    order_quad,
    outline_quads,
    over_border,
    rotation_of,
    straighten,
)
from idcard_ocr.orient import key_kind
from idcard_ocr.refine import anchor_pairs, fit

Point = tuple[float, float]
A, B = FRONT_ANCHORS, BACK_ANCHORS

# Detected lines of a well-straightened card, in mm: (x0, x1, cy, height). Left ends and centres of the
# anchor lines sit exactly where the layout has them; the rest are holder text that must not be matched.
FRONT_LINES: list[tuple[float, float, float, float]] = [
    (A["name_x0"], 22.0, A["name_cy"], 4.0),  # 姓名 + name
    (A["sex_x0"], 19.0, A["sex_cy"], 4.0),  # 性别 + sex
    (A["nation_label_x0"], 40.0, A["sex_cy"], 4.0),  # 民族 + nation
    (A["birth_x0"], 45.0, A["birth_cy"], 4.0),  # 出生 + date
    (A["address_x0"], 50.0, A["address_cy"], 4.0),  # 住址 + first address line
    (17.6, 50.0, 31.0, 4.0),  # address line 2
    (17.6, 36.0, 36.0, 4.0),  # address line 3
    (A["number_label_x0"], 24.0, A["number_label_cy"], 3.6),  # 公民身份号码
    (A["number_x0"], A["number_x1"], A["number_cy"], 3.4),  # the number strip
]
FRONT_ANCHOR_POINTS: list[Point] = [
    (A["number_x1"], A["number_cy"]), (A["number_x0"], A["number_cy"]),
    (A["name_x0"], A["name_cy"]), (A["sex_x0"], A["sex_cy"]), (A["birth_x0"], A["birth_cy"]),
    (A["address_x0"], A["address_cy"]), (A["number_label_x0"], A["number_label_cy"]),
    (A["nation_label_x0"], A["sex_cy"]),
]
BACK_LINES: list[tuple[float, float, float, float]] = [
    (B["title1_x0"], B["title1_x1"], B["title1_cy"], 5.0),  # 中华人民共和国
    (B["title2_x0"], B["title2_x1"], B["title2_cy"], 8.0),  # 居民身份证
    (B["authority_x0"], 60.0, B["authority_cy"], 4.0),  # 签发机关 + authority
    (B["validity_x0"], 62.0, B["validity_cy"], 4.0),  # 有效期限 + dates
]
BACK_ANCHOR_POINTS: list[Point] = [
    (B["title1_x0"], B["title1_cy"]), (B["title1_x1"], B["title1_cy"]),
    (B["title2_x0"], B["title2_cy"]), (B["title2_x1"], B["title2_cy"]),
    (B["authority_x0"], B["authority_cy"]), (B["validity_x0"], B["validity_cy"]),
]


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.asarray(pts, np.float64).reshape(-1, 1, 2), m).reshape(-1, 2)


def _boxes(lines: list[tuple[float, float, float, float]], m: np.ndarray | None = None) -> list[Box]:
    """Boxes of the lines on a card moved by m (canonical px -> canonical px)."""
    out = []
    for x0, x1, cy, h in lines:
        q = np.array([[x0, cy - h / 2], [x1, cy - h / 2], [x1, cy + h / 2], [x0, cy + h / 2]]) * PX_PER_MM
        if m is not None:
            q = _apply(m, q)
        out.append(box_of(q.astype(np.float32)))
    return out


def _about_centre(m: np.ndarray) -> np.ndarray:
    c = np.array([[1, 0, CANON_W / 2], [0, 1, CANON_H / 2], [0, 0, 1]], np.float64)
    return c @ m @ np.linalg.inv(c)


def _rot(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return _about_centre(np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]))


# Rough straightenings as a card outline or a text cluster leaves them: canonical px -> canonical px.
DISTORTIONS: dict[str, np.ndarray] = {
    "identity": np.eye(3),
    "shift": np.array([[1, 0, 18.0], [0, 1, -12.0], [0, 0, 1]]),
    "scale": _about_centre(np.diag([1.05, 1.05, 1.0])),
    "stretch": _about_centre(np.diag([0.96, 1.04, 1.0])),
    "rotate": _rot(1.5),
    "perspective": np.array([[1, 0, 0], [0, 1, 0], [2.5e-5, -1.5e-5, 1.0]]),
    "all": np.array([[1, 0, -9.0], [0, 1, 14.0], [0, 0, 1]]) @ _rot(-1.2) @ _about_centre(np.diag([0.97, 1.02, 1]))
    @ np.array([[1, 0, 0], [0, 1, 0], [-2e-5, 1e-5, 1.0]]),
}

CANON_CORNERS = np.array([[0, 0], [CANON_W, 0], [CANON_W, CANON_H], [0, CANON_H]], np.float64)
R180 = np.array([[-1, 0, CANON_W], [0, -1, CANON_H], [0, 0, 1]], np.float64)


# ------------------------------------------------------------------ refine.anchor_pairs


def _pair_set(pairs: list[tuple[Point, Point]]) -> set[tuple[float, ...]]:
    return {tuple(round(v, 2) for v in (*p, *q)) for p, q in pairs}


@pytest.mark.parametrize(("side", "lines", "points"), [
    ("front", FRONT_LINES, FRONT_ANCHOR_POINTS), ("back", BACK_LINES, BACK_ANCHOR_POINTS),
])
def test_anchor_pairs_on_the_layout(side: str, lines: list, points: list[Point]) -> None:
    pairs = anchor_pairs(_boxes(lines), side)
    assert sorted(q for _, q in pairs) == sorted(points)
    for measured, expected in pairs:
        assert measured == pytest.approx(expected, abs=0.05)


def test_anchor_pairs_ignore_line_order_and_stray_text() -> None:
    want = _pair_set(anchor_pairs(_boxes(FRONT_LINES), "front"))
    boxes = _boxes(FRONT_LINES)
    random.Random(3).shuffle(boxes)
    assert _pair_set(anchor_pairs(boxes, "front")) == want
    # A line of the background just above the card, starting where the labels do.
    stray = _boxes([(A["name_x0"] + 0.3, 30.0, 1.5, 3.0)])
    assert _pair_set(anchor_pairs(boxes + stray, "front")) == want


def test_anchor_pairs_need_the_lines() -> None:
    assert anchor_pairs([], "front") == [] and anchor_pairs([], "back") == []


@pytest.mark.parametrize("name", ["identity", "all"])
def test_the_other_side_does_not_fit(name: str) -> None:
    # Lines of one side may pair with the other side's anchors by position, but never fit its layout:
    # the residual stays far above what the pipeline accepts for a card.
    m = DISTORTIONS[name]
    assert fit(_boxes(BACK_LINES, m), "front", flipped=False).residual_mm > 5.0
    assert fit(_boxes(FRONT_LINES, m), "back", flipped=False).residual_mm > 5.0


# ------------------------------------------------------------------ refine.fit


@pytest.mark.parametrize("name", list(DISTORTIONS))
@pytest.mark.parametrize(("side", "lines", "points"), [
    ("front", FRONT_LINES, FRONT_ANCHOR_POINTS), ("back", BACK_LINES, BACK_ANCHOR_POINTS),
])
def test_fit_recovers_a_known_transform(side: str, lines: list, points: list[Point], name: str) -> None:
    m = DISTORTIONS[name]
    f = fit(_boxes(lines, m), side, flipped=False)
    assert f.anchors == len(points)
    assert f.transform is not None
    pts = np.array(points) * PX_PER_MM
    moved = _apply(m, pts)
    # Residual before the fit: how far the anchors were moved (RMS, mm).
    rms = float(np.sqrt(np.mean(np.sum((moved - pts) ** 2, axis=1)))) / PX_PER_MM
    assert f.residual_mm == pytest.approx(rms, abs=0.15)
    # After it, the anchors are back on the layout, and the card's corners with them.
    back = _apply(f.transform, moved)
    assert np.abs(back - pts).max() / PX_PER_MM < 0.3
    corners = _apply(f.transform @ m, CANON_CORNERS)
    assert np.abs(corners - CANON_CORNERS).max() / PX_PER_MM < 1.0


@pytest.mark.parametrize("side", ["front", "back"])
def test_fit_flipped_is_the_same_fit_in_the_rotated_frame(side: str) -> None:
    lines = FRONT_LINES if side == "front" else BACK_LINES
    boxes = _boxes(lines, DISTORTIONS["all"])
    up, down = fit(boxes, side, flipped=False), fit(boxes, side, flipped=True)
    assert up.anchors == down.anchors and up.residual_mm == pytest.approx(down.residual_mm)
    assert up.transform is not None and down.transform is not None
    np.testing.assert_allclose(down.transform, R180 @ up.transform @ R180, atol=1e-6)


def test_fit_with_the_number_strip_alone() -> None:
    # Two anchors (the strip's ends): too few for a homography, so the key line's similarity is the fit.
    m = DISTORTIONS["shift"] @ DISTORTIONS["rotate"]
    f = fit(_boxes(FRONT_LINES[-1:], m), "front", flipped=False)
    assert f.anchors == 2 and f.transform is not None
    ends = np.array([[A["number_x0"], A["number_cy"]], [A["number_x1"], A["number_cy"]]]) * PX_PER_MM
    assert np.abs(_apply(f.transform, _apply(m, ends)) - ends).max() / PX_PER_MM < 0.3


def test_fit_without_lines() -> None:
    for side in ("front", "back"):
        f = fit([], side, flipped=False)
        assert f.transform is None and f.anchors == 0 and math.isinf(f.residual_mm)


# ------------------------------------------------------------------ locate: quads and rotation


def _card_quad(deg: float, centre: Point = (500.0, 420.0), long_px: float = 428.0) -> np.ndarray:
    """Corners of a card turned `deg` clockwise, in its own upright order (TL, TR, BR, BL)."""
    w, h = long_px, long_px / ASPECT
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    a = math.radians(deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (pts @ rot.T + np.array(centre)).astype(np.float32)


def _signed_area(q: np.ndarray) -> float:
    x, y = q[:, 0].astype(np.float64), q[:, 1].astype(np.float64)
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


@pytest.mark.parametrize("deg", [0, 7, -12, 63, 90, 117, 180, 200, 250, 270, 300])
def test_order_quad_from_any_corner_order(deg: float) -> None:
    q = _card_quad(deg)
    # The card read upright, or upside down: both start on a long edge that points rightwards.
    want = q if math.cos(math.radians(deg)) > 1e-9 or deg == 90 else np.roll(q, 2, axis=0)
    for perm in itertools.permutations(range(4)):
        got = order_quad(q[list(perm)])
        assert _signed_area(got) > 0  # clockwise on screen (y down)
        assert np.linalg.norm(got[1] - got[0]) == pytest.approx(428.0, abs=0.5)  # a long edge first
        np.testing.assert_allclose(got, want, atol=1e-3)
        v = got[1] - got[0]
        assert v[0] > 1e-3 or (abs(v[0]) <= 1e-3 and v[1] > 0)  # rightwards (or straight down)


@pytest.mark.parametrize("deg", [0, 90, 180, 270])
@pytest.mark.parametrize("jitter", [-30.0, -5.0, 0.0, 5.0, 30.0])
def test_rotation_of(deg: int, jitter: float) -> None:
    assert rotation_of(_card_quad(deg + jitter)) == deg


def test_homography_and_straighten() -> None:
    # A card under perspective; a dot drawn where a quarter of the way across and down the card is.
    quad = np.array([[210, 180], [720, 230], [690, 560], [170, 500]], np.float32)
    to_img = cv2.getPerspectiveTransform(CANON_CORNERS.astype(np.float32), quad)
    dot = _apply(to_img, np.array([[CANON_W / 4, CANON_H / 4]]))[0]
    img = np.full((700, 900, 3), 40, np.uint8)
    cv2.fillPoly(img, [quad.astype(np.int32)], (235, 235, 235))
    cv2.circle(img, (round(dot[0]), round(dot[1])), 6, (0, 0, 0), -1)
    h = homography(quad)
    np.testing.assert_allclose(_apply(h, quad), CANON_CORNERS, atol=1e-3)
    card = straighten(img, quad)
    assert card.shape == (CANON_H, CANON_W, 3)
    ys, xs = np.nonzero(card[:, :, 0] < 100)
    inside = (xs > 20) & (xs < CANON_W - 20) & (ys > 20) & (ys < CANON_H - 20)  # ignore the border
    assert abs(xs[inside].mean() - CANON_W / 4) < 3 and abs(ys[inside].mean() - CANON_H / 4) < 3


# ------------------------------------------------------------------ locate.outline_quads


def _scene(quads: list[np.ndarray], size: tuple[int, int] = (1200, 900), noise: float = 3.0) -> np.ndarray:
    """White cards on a dark, slightly noisy table."""
    rng = np.random.default_rng(0)
    w, h = size
    img = np.clip(rng.normal(45, noise, (h, w, 3)), 0, 255).astype(np.uint8)
    for q in quads:
        cv2.fillPoly(img, [np.round(q).astype(np.int32)], (238, 236, 232), lineType=cv2.LINE_AA)
    return img


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    return float(inter) / (cv2.contourArea(a.astype(np.float32)) + cv2.contourArea(b.astype(np.float32)) - inter)


@pytest.mark.parametrize("deg", [0, 15, 33, 45, 90, 128, 180, 260])
def test_outline_quads_finds_a_card(deg: float) -> None:
    card = _card_quad(deg, centre=(600, 450), long_px=560)
    found = outline_quads(_scene([card]))
    assert found, "no quad found"
    q = found[0]
    assert _iou(q, card) > 0.95
    assert _signed_area(q) > 0 and np.linalg.norm(q[1] - q[0]) > np.linalg.norm(q[2] - q[1])  # ordered


def test_outline_quads_under_perspective() -> None:
    card = np.array([[330, 250], [880, 300], [900, 640], [280, 600]], np.float32)
    found = outline_quads(_scene([card]))
    assert found and _iou(found[0], card) > 0.95


def test_outline_quads_two_cards_largest_first() -> None:
    big, small = _card_quad(5, centre=(360, 300), long_px=520), _card_quad(-8, centre=(870, 640), long_px=380)
    found = outline_quads(_scene([small, big], size=(1300, 950)))
    assert len(found) >= 2
    assert _iou(found[0], big) > 0.9 and _iou(found[1], small) > 0.9


def test_outline_quads_nothing_card_shaped() -> None:
    assert outline_quads(_scene([])) == []
    assert outline_quads(np.full((600, 800, 3), 200, np.uint8)) == []
    # A square and a thin strip are not card-shaped; a card-shaped speck is too small to be a card.
    square = np.array([[400, 250], [750, 250], [750, 600], [400, 600]], np.float32)
    strip = np.array([[200, 400], [1000, 400], [1000, 480], [200, 480]], np.float32)
    speck = _card_quad(0, centre=(600, 450), long_px=90)
    for shape in (square, strip, speck):
        assert outline_quads(_scene([shape])) == [], shape.tolist()


@pytest.mark.parametrize("deg", [3, -12, 95])
@pytest.mark.parametrize("under", ["sheet", "cable"])
def test_outline_quads_card_whose_edge_runs_into_something(deg: float, under: str) -> None:
    # A sheet of paper under the card sticking out past one side, or a cable laid across its edge: the card's
    # contour is no quadrilateral, its four straight sides are still there (lines of text inside it too).
    card = _card_quad(deg, centre=(600, 450), long_px=600)
    img = _scene([])
    if under == "sheet":
        sheet = _card_quad(deg + 20, centre=(600, 640), long_px=380)
        cv2.fillPoly(img, [np.round(sheet).astype(np.int32)], (150, 180, 205), lineType=cv2.LINE_AA)  # a folder
    cv2.fillPoly(img, [np.round(card).astype(np.int32)], (238, 236, 232), lineType=cv2.LINE_AA)
    tl, tr, _, bl = card.astype(np.float64)
    for k in range(2, 9):  # rows of "text", one blot per character: together they line up as long as the card
        for c in range(24):
            a = tl + (bl - tl) * k / 10 + (tr - tl) * (0.08 + c * 0.034)
            cv2.rectangle(img, tuple(np.round(a).astype(int)), tuple(np.round(a + 14).astype(int)), (40, 40, 40), -1)
    if under == "cable":
        cv2.line(img, (0, 200), (1200, 820), (236, 236, 236), 14)
    found = outline_quads(img)
    assert any(_iou(q, card) > 0.9 for q in found), [q.astype(int).tolist() for q in found]


def test_outline_quads_nothing_on_a_dark_noisy_table() -> None:
    # Sensor noise on a dark plain surface (sigma 6 per channel): no outline there, so no candidate either.
    assert outline_quads(_scene([], noise=6.0)) == []


@pytest.mark.parametrize("cut", ["right", "bottom"])
def test_outline_quads_extend_a_card_cut_off_by_the_frame(cut: str) -> None:
    # A card whose right (or bottom) part lies beyond the frame: the whole card is the first candidate.
    card = _card_quad(0, centre=(1000, 450), long_px=600) if cut == "right" else _card_quad(
        0, centre=(600, 760), long_px=600)
    frame = _scene([card])
    found = outline_quads(frame)
    assert found, "no quad found"
    assert _iou(found[0], card) > 0.9
    assert inside_fraction(found[0], frame.shape) < 0.95  # it does run past the frame


def test_over_border_leaves_whole_quads_alone() -> None:
    q = np.array([[100, 100], [500, 100], [500, 352], [100, 352]], np.float32)
    assert len(over_border(q, (900, 1200))) == 1
    # one side on the right border: the long side continues (the shorter extension first), then as seen
    cut = np.array([[900, 100], [1199, 100], [1199, 352], [900, 352]], np.float32)
    got = over_border(cut, (900, 1200))
    assert len(got) >= 2 and np.array_equal(got[-1], cut)
    assert abs(np.ptp(got[0][:, 0]) / 252 - ASPECT) < 0.02 and np.ptp(got[0][:, 1]) == 252


def test_fit_ignores_the_end_of_a_number_strip_cut_by_the_frame() -> None:
    # The strip ends 12 mm short (beyond the frame): its left end and the labels still fit exactly.
    lines = [(*ln[:1], ln[1] - 12.0, *ln[2:]) if ln[0] == A["number_x0"] else ln for ln in FRONT_LINES]
    f = fit(_boxes(lines), "front", False)
    assert f.anchors == len(FRONT_ANCHOR_POINTS) - 1
    assert f.residual_mm < 0.2


@pytest.mark.parametrize(("text", "kind"), [
    ("11010519491231002X", "number"),
    ("1101051949123", "number_label"),  # the strip cut off by the frame: 12-15 digits from a known area
    ("公民身份号码", "number_label"),
    ("中华人民共和国", "title1"),
    ("居民身份证", "title2"),
    ("临时居民身份证", "temp_title"),
    ("2010.01.06-2030.01.06", "validity"),
    ("姓名张三", None),
])
def test_key_kind(text: str, kind: str | None) -> None:
    assert key_kind(text) == kind


@pytest.mark.parametrize("text", ["6222021234567890", "622202123456789", "4392250012345678901"])
def test_bank_numbers_are_no_front_key(text: str) -> None:
    # 16/19 digits, or 15 whose first six are no area: never the number strip, whole or cut
    assert key_kind(text) not in ("number", "number_label")
