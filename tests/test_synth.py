"""The synthetic card renderer: determinism, valid identities, truth that matches the image."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from tools.synth.card import CARD_H, CARD_W  # noqa: E402
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
        elif s.condition == "both_sides":
            assert t.side == "both" and len(t.quads) == 2
            assert set(t.fields) == set(FRONT_FIELDS) | set(BACK_FIELDS)
        else:
            assert t.side in ("front", "back") and len(t.quads) == 1
            want = FRONT_FIELDS if t.side == "front" else BACK_FIELDS
            assert set(t.fields) == set(want), s.condition
        if s.condition.startswith("rot"):
            assert t.rotation == int(s.condition[3:])
        elif s.condition not in NEGATIVES:
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
