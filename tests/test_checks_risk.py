"""Risk checks on rendered images: copies, screens, edited files, originals; the model file's recipe."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from importlib import resources

import cv2
import numpy as np
import pytest
from PIL import Image

from idcard_ocr.checks import apply, assess
from idcard_ocr.checks.risk import EDITORS, FEATURES, edit_tool
from idcard_ocr.engine import Engine
from idcard_ocr.model import FACEPP_CLASSES, CardChecks, Reading
from idcard_ocr.pipeline import Detailed, read_detailed
from tools.synth import make_sample

Check = Callable[[int, str], tuple[Detailed, CardChecks]]


@pytest.fixture(scope="module")
def check(assessed: Check) -> Check:
    return assessed


def _jpeg(img: np.ndarray, software: str | None) -> bytes:
    im = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    if software:
        exif[0x0131] = software  # EXIF Software
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("seed", [101, 102])
def test_original_is_not_flagged(check: Check, seed: int) -> None:
    _, c = check(seed, "clean")
    assert c.risk is not None
    assert c.risk.kind == "original", c.risk
    assert c.risk.scores["Photocopy"] < 0.2 and c.risk.scores["Screen"] < 0.2
    assert c.risk.edit_tool is None


@pytest.mark.parametrize(("seed", "condition"), [(101, "photocopy"), (107, "photocopy"), (103, "copy_photo")])
def test_photocopy_is_flagged(check: Check, seed: int, condition: str) -> None:
    _, c = check(seed, condition)
    assert c.risk is not None and c.risk.kind == "photocopy", c.risk
    assert "no colour" in c.risk.reasons


@pytest.mark.parametrize("seed", [101, 107])
def test_screen_is_flagged(check: Check, seed: int) -> None:
    _, c = check(seed, "screen")
    assert c.risk is not None and c.risk.kind == "screen", c.risk


def test_scores_are_facepp_classes_summing_to_one(check: Check) -> None:
    for cond in ("clean", "photocopy", "screen"):
        _, c = check(101, cond)
        assert c.risk is not None
        assert tuple(c.risk.scores) == FACEPP_CLASSES
        assert abs(sum(c.risk.scores.values()) - 1.0) < 1e-9
        assert all(0.0 <= v <= 1.0 for v in c.risk.scores.values())


def test_exif_software_becomes_edit_tool(engine: Engine) -> None:
    img = make_sample(102, "clean").image
    tool = "Adobe Photoshop CC 2014 (Macintosh)"
    d = read_detailed(_jpeg(img, tool), engine=engine)
    assert d.decoded.software == tool
    c = assess(d, engine=engine)
    assert c.risk is not None and c.risk.kind == "edited" and c.risk.edit_tool == tool
    assert c.risk.scores["Edited"] >= 0.9
    assert f"software tag: {tool}" in c.risk.reasons
    # A camera's firmware in the same tag is not an editor.
    d2 = read_detailed(_jpeg(img, "HDR+ 1.0.345678"), engine=engine)
    c2 = assess(d2, engine=engine)
    assert c2.risk is not None and c2.risk.edit_tool is None and c2.risk.kind == "original"


def test_editor_names() -> None:
    assert edit_tool("Adobe Photoshop 23.1 (Windows)") == "Adobe Photoshop 23.1 (Windows)"
    assert edit_tool("GIMP 2.10.34") == "GIMP 2.10.34"
    assert edit_tool("iOS 17.1") is None and edit_tool(None) is None
    assert EDITORS.search("美图秀秀")


def test_no_card_no_risk(check: Check) -> None:
    d, c = check(101, "neg_desk")
    assert d.reading.fields == {}
    assert c.risk is None  # nothing to judge: no constant answer
    assert c.quality.image_status in ("non_idcard", "other_type_card", "unknown")
    assert c.quality.score is None


def test_apply_fills_the_reading(check: Check) -> None:
    d, c = check(101, "photocopy")
    r = apply(d.reading, c)
    assert r.risk is not None and r.risk.kind == "photocopy"
    assert r.quality is c.quality and r.warnings is c.warnings
    assert r.portrait is not None and r.card_type == "resident"
    body = r.model_dump(mode="json")
    assert body["risk"]["class"] == "photocopy"  # the JSON spelling
    assert Reading.model_validate(body).risk == r.risk
    assert "checks_ms" in r.timings_ms


def test_model_file_has_its_recipe() -> None:
    text = resources.files("idcard_ocr").joinpath("data/risk_model.json").read_text("utf-8")
    m = json.loads(text)
    assert m["features"] == list(FEATURES)
    assert len(m["weights"]) == 5 and all(len(row) == len(FEATURES) for row in m["weights"])
    from bench.risk import BENCH_SEED
    from tools.train_risk import TRAIN_SEED

    assert m["recipe"]["train_seed"] == TRAIN_SEED
    # Training seeds (TRAIN_SEED + condition * 10_000 + i, i < 100) never reach the bench's.
    assert TRAIN_SEED + 100 * 10_000 < BENCH_SEED


def test_facepp_legality_rounding() -> None:
    from idcard_ocr.checks.risk import legality
    from idcard_ocr.model import Risk

    r = Risk(kind="original", scores={"ID Photo": 0.7621, "Temporary ID Photo": 0.0281, "Photocopy": 0.0062,
                                      "Screen": 0.1281, "Edited": 0.0755})
    leg = legality(r)
    assert list(leg) == list(FACEPP_CLASSES)
    assert abs(sum(leg.values()) - 1.0) < 1e-9
    assert leg["Screen"] == 0.128 and leg["Edited"] == 0.0755
