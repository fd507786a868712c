"""The synthetic card renderer: determinism, valid identities, truth that matches the image."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# tools/ lives at the repo root, outside the installed package.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from idcard_ocr.idnumber import birth_of, checksum_ok, lookup_area, sex_of  # noqa: E402
from idcard_ocr.model import BACK_FIELDS, FRONT_FIELDS  # noqa: E402
from tools.synth import (  # noqa: E402
    CONDITIONS,
    EXTRA_CONDITIONS,
    LAYOUTS,
    NEGATIVES,
    Sample,
    make_sample,
    make_set,
    random_identity,
    render_back,
    render_front,
    wrap_address,
)
from tools.synth.__main__ import main as cli_main  # noqa: E402
from tools.synth.card import (  # noqa: E402
    BACK_ROWS,
    CARD_H,
    CARD_W,
    FRONT_ROWS,
    SANS,
    UMING,
    CardImage,
    LayoutJitter,
    _has_glyph,
    _row_boxes,
    _value_face,
    layout_jitter,
)
from tools.synth.identity import (  # noqa: E402
    RARE_GIVEN,
    RARE_SURNAMES,
    Identity,
)

SEED = 424242


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    # One image per condition, rendered once for the whole module.
    return make_set(SEED, len(CONDITIONS))


@pytest.fixture(scope="module")
def identities() -> list[Identity]:
    return [random_identity(random.Random(i)) for i in range(600)]


def _digest(img: np.ndarray) -> str:
    return hashlib.sha256(img.tobytes()).hexdigest()


def test_same_seed_same_bytes() -> None:
    for cond in ("clean", "busy_background", "screen", "both_sides", "neg_document"):
        a, b = make_sample(7, cond), make_sample(7, cond)
        assert a.image.shape == b.image.shape
        assert _digest(a.image) == _digest(b.image), cond
        assert a.truth == b.truth
    assert _digest(make_sample(7, "clean").image) != _digest(make_sample(8, "clean").image)


def test_same_bytes_in_a_fresh_process() -> None:
    # A fresh interpreter with a different str-hash salt and cold caches must give the same image.
    code = ("import hashlib; from tools.synth import make_sample; "
            "print(hashlib.sha256(make_sample(11, 'glare').image.tobytes()).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == _digest(make_sample(11, "glare").image)


def test_numbers_are_valid(identities: list[Identity]) -> None:
    for p in identities:
        n = p.number
        assert checksum_ok(n), n
        assert lookup_area(n[:6]) is not None, n
        assert birth_of(n) == p.birth.isoformat(), n
        assert sex_of(n) == p.sex, n


def _expected_term(birth: dt.date, issue: dt.date) -> int | None:
    age = issue.year - birth.year - ((issue.month, issue.day) < (birth.month, birth.day))
    return 5 if age < 16 else 10 if age <= 25 else 20 if age <= 45 else None


def test_validity_follows_the_age_rule(identities: list[Identity]) -> None:
    for p in identities:
        assert dt.date(2004, 1, 1) <= p.valid_from <= dt.date(2026, 1, 1)
        assert p.valid_from > p.birth
        term = _expected_term(p.birth, p.valid_from)
        if term is None:
            assert p.valid_to == "长期"
        else:
            assert p.valid_to == p.valid_from.replace(year=p.valid_from.year + term), p
    terms = {_expected_term(p.birth, p.valid_from) for p in identities}
    assert terms == {5, 10, 20, None}


def test_identity_mix(identities: list[Identity]) -> None:
    n = len(identities)
    rare = set(RARE_GIVEN + RARE_SURNAMES)
    share = {
        "rare": sum(any(c in rare for c in p.name) for p in identities) / n,
        "minority": sum(p.nation != "汉" for p in identities) / n,
        "x": sum(p.number.endswith("X") for p in identities) / n,
        "three_lines": sum(len(wrap_address(p.address)) == 3 for p in identities) / n,
        "short_last": sum(len(wrap_address(p.address)[-1]) <= 3 for p in identities) / n,
    }
    assert 0.07 < share["rare"] < 0.25, share
    assert 0.2 < share["minority"] < 0.4, share
    assert 0.05 < share["x"] < 0.16, share
    assert 0.2 < share["three_lines"] < 0.45, share
    assert share["short_last"] > 0.08, share
    assert any("·" in p.name for p in identities)
    assert all(2 <= len(p.name) <= 12 for p in identities)
    assert all(len(wrap_address(p.address)) <= 3 for p in identities)
    assert all(" " not in p.address for p in identities)


def test_card_layout_and_boxes() -> None:
    for seed in range(6):
        rng = random.Random(seed)
        p = random_identity(rng)
        front, back = render_front(p, rng), render_back(p, rng)
        for card in (front, back):
            assert card.image.shape == (CARD_H, CARD_W, 3) and card.image.dtype == np.uint8
            assert card.alpha.shape == (CARD_H, CARD_W)
            assert card.alpha[0, 0] == 0 and card.alpha[CARD_H // 2, CARD_W // 2] == 255  # rounded corners
            for x0, y0, x1, y1 in card.boxes.values():
                assert 0 <= x0 < x1 <= CARD_W and 0 <= y0 < y1 <= CARD_H
        assert set(front.fields) == set(FRONT_FIELDS) and set(back.fields) == set(BACK_FIELDS)
        lines = wrap_address(p.address)
        assert all(f"address_{i + 1}" in front.boxes for i in range(len(lines)))
        # Number in OCR-B about 28-80 mm across, 45-49 mm down (12 px/mm).
        x0, y0, x1, y1 = front.boxes["number"]
        assert 26 * 12 < x0 < 30 * 12 and 78 * 12 < x1 < 82 * 12 and 44 * 12 < y0 < y1 < 50 * 12
        # Name stays on one line left of the portrait, even for long names.
        assert front.boxes["name"][2] < front.boxes["portrait"][0]


def test_every_condition_renders(samples: list[Sample]) -> None:
    assert [s.condition for s in samples] == CONDITIONS
    for s in samples:
        t = s.truth
        h, w = s.image.shape[:2]
        assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
        assert t.image_size == (w, h)
        assert 900 <= max(w, h) <= 1700, (s.condition, w, h)
        if s.condition in NEGATIVES:
            assert t.side == "none" and t.fields == {} and t.quads == [], s.condition
        elif s.condition == "both_sides" or t.side == "both":  # (a colour copy may hold both sides too)
            assert s.condition in ("both_sides", "colour_copy", "two_cards")
            assert t.side == "both" and len(t.quads) == 2
            assert set(t.fields) == set(FRONT_FIELDS) | set(BACK_FIELDS)
        else:
            assert t.side in ("front", "back") and len(t.quads) == 1
            want = FRONT_FIELDS if t.side == "front" else BACK_FIELDS
            assert set(t.fields) == set(want), s.condition
        if s.condition.startswith("rot"):
            assert t.rotation == int(s.condition[3:])
        elif s.condition not in (*NEGATIVES, "two_cards"):  # (two cards: each turned its own way)
            assert t.rotation == 0, s.condition
        assert all(len(v) > 0 for v in t.fields.values())


def test_quads_inside_image_and_clockwise(samples: list[Sample]) -> None:
    for s in samples:
        w, h = s.truth.image_size
        for quad in [*s.truth.quads, *s.truth.boxes.values()]:
            q = np.array(quad, np.float64)
            assert q.shape == (4, 2)
            assert (q[:, 0] >= 0).all() and (q[:, 0] <= w).all(), s.condition
            assert (q[:, 1] >= 0).all() and (q[:, 1] <= h).all(), s.condition
            x, y = q[:, 0], q[:, 1]
            assert np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) > 0  # clockwise with y down


def test_card_area_by_condition(samples: list[Sample]) -> None:
    def frac(s: Sample) -> float:
        q = np.array(s.truth.quads[0])
        x, y = q[:, 0], q[:, 1]
        w, h = s.truth.image_size
        return abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2 / (w * h)

    by = {s.condition: s for s in samples}
    assert 0.18 <= frac(by["small"]) <= 0.32
    assert 0.83 <= frac(by["large"]) <= 0.97


def test_truth_fields_are_normalized(samples: list[Sample]) -> None:
    for s in samples:
        f = s.truth.fields
        for k in ("birth", "valid_from"):
            if k in f:
                dt.date.fromisoformat(f[k])
        if "valid_to" in f and f["valid_to"] != "长期":
            dt.date.fromisoformat(f["valid_to"])
        if "number" in f:
            assert checksum_ok(f["number"])
        if "nation" in f:
            assert not f["nation"].endswith("族")


def test_cli_writes_images_and_truth(tmp_path: Path) -> None:
    assert cli_main(["--out", str(tmp_path), "--n", "3", "--seed", "5", "--conditions", "clean,neg_desk",
                     "--format", "png"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text("utf-8").splitlines()]
    assert [r["condition"] for r in rows] == ["clean", "neg_desk", "clean"]
    for r in rows:
        assert (tmp_path / r["file"]).is_file()
        assert {"file", "condition", "side", "rotation", "fields", "quads"} <= set(r)
    # The CLI and make_set use the same per-image seeds.
    assert rows[0]["fields"] == make_set(5, 1, ["clean"])[0].truth.fields


# ---------------------------------------------------------------- varied layout

def _plain_and_varied(seed: int) -> tuple[tuple[CardImage, CardImage], tuple[CardImage, CardImage]]:
    """Front and back of one identity, in the standard layout and in the varied one of `seed`."""
    rng = random.Random(seed)
    p = random_identity(rng)
    state = rng.getstate()
    plain = render_front(p, rng), render_back(p, rng)
    rng.setstate(state)
    jitter = layout_jitter("varied", seed)
    assert isinstance(jitter, LayoutJitter)
    return plain, (render_front(p, rng, jitter), render_back(p, rng, jitter))


def test_layouts_and_plain_unchanged() -> None:
    assert LAYOUTS == ("plain", "varied")
    assert layout_jitter("plain", 3) is None
    with pytest.raises(ValueError):
        make_sample(3, "clean", layout="tilted")
    # layout="plain" is the default and draws nothing extra from the card's rng.
    a, b = make_sample(7, "clean"), make_sample(7, "clean", layout="plain")
    assert _digest(a.image) == _digest(b.image) and a.truth == b.truth


def test_varied_layout_is_deterministic_and_differs_from_plain() -> None:
    a, b = make_sample(7, "clean", layout="varied"), make_sample(7, "clean", layout="varied")
    assert _digest(a.image) == _digest(b.image) and a.truth == b.truth
    plain = make_sample(7, "clean")
    assert _digest(a.image) != _digest(plain.image)
    # Same identity and same scene: only the print on the card moved.
    assert a.truth.fields == plain.truth.fields and a.truth.quads == plain.truth.quads
    assert a.truth.boxes != plain.truth.boxes
    assert _digest(make_sample(8, "clean", layout="varied").image) != _digest(a.image)
    assert make_set(5, 1, ["both_sides"], layout="varied")[0].truth == make_sample(
        5 * 100_003, "both_sides", layout="varied").truth
    assert layout_jitter("varied", 1) == layout_jitter("varied", 1) != layout_jitter("varied", 2)


def test_varied_rows_move_apart_and_inside() -> None:
    gap, margin = 12, 17  # px at 12 px/mm: rows >= 1 mm apart, ink >= 1.5 mm from the edge (1 px rounding)
    for seed in range(4):
        plain, varied = _plain_and_varied(seed)
        for card0, card, rows in ((plain[0], varied[0], FRONT_ROWS), (plain[1], varied[1], BACK_ROWS)):
            assert card.fields == card0.fields and set(card.boxes) == set(card0.boxes)
            moved = max(max(abs(a - b) for a, b in zip(card.boxes[k], card0.boxes[k])) for k in card.boxes)
            assert moved > 12, (seed, card.side)  # some row moved by more than 1 mm
            for key, (x0, y0, x1, y1) in card.boxes.items():
                if key not in ("portrait", "emblem"):
                    assert margin <= x0 < x1 <= CARD_W - margin and margin <= y0 < y1 <= CARD_H - margin, key
            rb = [tuple(v * 12 for v in b) for b in _row_boxes(card.boxes, rows).values()]
            for upper, lower in itertools.pairwise(rb):  # top-to-bottom order kept, clear paper between rows
                assert lower[1] - upper[3] >= gap, (seed, card.side, rows)
        front, back = varied
        jitter = layout_jitter("varied", seed)
        assert jitter is not None
        px0, py0, px1, py1 = front.boxes["portrait"]  # the recorded photo box moved with the photo
        qx0, qy0, qx1, qy1 = plain[0].boxes["portrait"]
        assert abs(px0 - qx0 - 12 * jitter.portrait_dx) <= 1 and abs(px1 - qx1 - 12 * jitter.portrait_dx) <= 1
        assert abs(py0 - qy0 - 12 * jitter.portrait_dy) <= 1 and abs(py1 - qy1 - 12 * jitter.portrait_dy) <= 1
        rb = _row_boxes(front.boxes, FRONT_ROWS)
        for row in ("name", "sex_nation", "birth", "address"):
            assert rb[row][2] * 12 < px0, (seed, row)  # text keeps clear of the portrait
        assert rb["number"][1] * 12 > py1
        for key in ("title", "title2"):
            assert back.boxes[key][0] > back.boxes["emblem"][2]


def test_varied_value_face_keeps_to_covered_glyphs() -> None:
    # The AR PL faces lack a few rare characters; a card then keeps its 黑体 rather than print a box.
    assert _has_glyph(UMING, "国") and not _has_glyph(UMING, "婳")
    jitter = layout_jitter("varied", 0)
    assert jitter is not None
    jitter = dataclasses.replace(jitter, value_font=UMING)
    assert _value_face(jitter, SANS, ["张婳", "汉"]) == SANS
    assert _value_face(jitter, SANS, ["张国", "汉"]) == UMING


def test_lowq_is_a_small_card_in_a_noisy_compressed_frame_on_request_only() -> None:
    import cv2

    assert "lowq" in EXTRA_CONDITIONS and "lowq" not in CONDITIONS  # not in the default sets (nor in any tuning)
    for i in range(3):
        s = make_sample(SEED + i, "lowq")
        h, w = s.image.shape[:2]
        share = cv2.contourArea(np.array(s.truth.quads[0], np.float32)) / (w * h)
        assert 0.03 < share < 0.1  # a card far off: 4-9 % of the frame
        grey = cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        assert float(np.std(grey - cv2.GaussianBlur(grey, (0, 0), 2))) > 3.0  # sensor noise left in
