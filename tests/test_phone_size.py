"""A phone-size photo (8 MP JPEG, EXIF-rotated) is read at the working size; what the Reading says is in the
full-resolution upright image's pixels."""

from __future__ import annotations

import io
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from idcard_ocr.engine import Engine
from idcard_ocr.pipeline import read_detailed
from tools.synth.phone import phone_size


@pytest.fixture(scope="module")
def phone(render: Any) -> tuple[Any, bytes]:
    s = phone_size(render(3, "clean"), 8, seed=3)
    # Stored turned a quarter counter-clockwise with EXIF orientation 6 (shown turned clockwise): upright, the
    # image is the scene again.
    stored = cv2.rotate(s.image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(stored[:, :, ::-1]).save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return s, buf.getvalue()


def test_phone_photo_read_at_working_size_reported_at_full_size(phone: tuple[Any, bytes], engine: Engine,
                                                                 read_rendered: Any) -> None:
    s, data = phone
    d = read_detailed(data, engine=engine, images=True)
    r = d.reading
    h, w = s.image.shape[:2]
    assert d.decoded.size == ((w + 1) // 2, (h + 1) // 2)  # decoded by draft at half size, upright
    assert r.image_size == (w, h)  # but reported at full resolution
    assert r.side == s.truth.side
    assert {k: f.value for k, f in r.fields.items()} == s.truth.fields
    want = np.array(s.truth.quads[0], np.float64)
    got = np.array(r.cards[0].quad, np.float64)
    assert np.linalg.norm(got - want, axis=1).max() <= 0.05 * np.linalg.norm(want[1] - want[0])
    for name, f in r.fields.items():  # each field's box lies on the card, in full-resolution pixels
        box = np.array(f.box, np.float64)
        inside = [cv2.pointPolygonTest(want.astype(np.float32).reshape(-1, 1, 2), (float(x), float(y)), True)
                  >= -0.02 * w for x, y in box]
        assert all(inside), name
    if s.truth.side == "front":
        assert r.portrait is not None and r.portrait_image is not None
        pq = np.array(r.portrait.quad, np.float64)
        tq = np.array(s.truth.portraits[0], np.float64)
        assert np.linalg.norm(pq.mean(0) - tq.mean(0)) <= 0.03 * w
        x, y, bw, bh = r.portrait.box
        assert min(x, y) >= 0 and x + bw <= w and y + bh <= h and bw > 0.05 * w
    # The checks measure at full resolution: pixels per mm as the scene's times the upscale (not half of it)
    scene = read_rendered(3, "clean")
    assert r.quality is not None and scene.quality is not None
    scale = w / scene.image_size[0]
    assert abs(r.quality.measures["px_per_mm"] / (scale * scene.quality.measures["px_per_mm"]) - 1) < 0.1
    assert r.quality.cut_off == scene.quality.cut_off
