"""The engine feeds its runtime only the fixed input buckets, and padding changes neither boxes nor texts.

Why: the runtime keeps state per distinct input shape (OpenVINO: a few MB each, for good), so a worker's memory
stays flat only if the shapes are a small fixed set, built at warm-up (engine.py's docstring).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from idcard_ocr import read
from idcard_ocr.engine import DET_CANVASES, REC_BATCH, REC_WIDE, REC_WIDTHS, Engine, det_canvas, rec_width
from tests.conftest import rendered


class _Spy:
    def __init__(self, session: Any, seen: Counter[tuple[int, ...]]) -> None:
        self.session, self.seen = session, seen

    def __call__(self, x: np.ndarray) -> Any:
        self.seen[tuple(x.shape)] += 1
        return self.session(x)


@pytest.fixture
def seen(engine: Engine) -> Iterator[dict[str, Counter[tuple[int, ...]]]]:
    """The input shapes each runtime session is given while the test runs (inside the padding wrappers)."""
    shapes: dict[str, Counter[tuple[int, ...]]] = {"det": Counter(), "cls": Counter(), "rec": Counter()}
    holders = {"det": engine._det.session, "rec": engine._rec.session, "cls": engine._cls}
    saved = {k: h.session for k, h in holders.items()}
    for k, h in holders.items():
        h.session = _Spy(h.session, shapes[k])
    try:
        yield shapes
    finally:
        for k, h in holders.items():
            h.session = saved[k]


def test_canvas_and_width_buckets_hold_their_input() -> None:
    for h in range(32, 961, 32):
        for w in range(32, 961, 32):
            ch, cw = det_canvas(h, w)
            assert (ch, cw) in DET_CANVASES and ch >= h and cw >= w
    assert det_canvas(448, 704) == (448, 704) and det_canvas(416, 672) == (448, 704)
    assert det_canvas(704, 960) == (704, 960) and det_canvas(736, 960) == (960, 960)
    for w in range(1, 5000):
        b = rec_width(w)
        assert b in (*REC_WIDTHS, REC_WIDE) and (b >= w or b == REC_WIDE)
    assert [rec_width(w) for w in (320, 321, 400, 1339, 1441, 4000)] == [320, 384, 480, 1440, 2880, 2880]


def test_runtime_sees_only_bucket_shapes(engine: Engine, seen: dict[str, Counter[tuple[int, ...]]]) -> None:
    """Cards of varied sizes and sides, and odd-sized images straight to the detector and recogniser."""
    for seed, condition in ((3, "small"), (4, "large"), (5, "rot90")):
        read(rendered(seed, condition).image, engine=engine)
    rng = np.random.default_rng(0)
    for h, w in ((300, 500), (1000, 700), (120, 90)):
        engine.detect(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    engine.recognize([rng.integers(0, 255, (30, w, 3), dtype=np.uint8) for w in (100, 333, 517)])
    engine.recognize([rng.integers(0, 255, (20, w, 3), dtype=np.uint8) for w in (100, 1000, 2500)])  # 60x, 125x
    assert seen["det"] and seen["rec"]
    assert {s[2:] for s in seen["det"]} <= set(DET_CANVASES) and {s[:2] for s in seen["det"]} == {(1, 3)}
    assert {s[3] for s in seen["rec"]} <= {*REC_WIDTHS, REC_WIDE} and (1, 3, 48, REC_WIDE) in seen["rec"]
    assert {s[1:3] for s in seen["rec"]} == {(3, 48)} and max(s[0] for s in seen["rec"]) <= REC_BATCH
    assert all(s[0] == 1 for s in seen["rec"] if s[3] > REC_WIDTHS[-1])  # the widest lines one at a time
    assert {s[1:] for s in seen["cls"]} <= {(3, 48, 192)}


def _unpadded(engine: Engine, stage: Any) -> Any:
    """A context that feeds `stage` the runtime session itself, unpadded."""
    class _Raw:
        def __enter__(self) -> None:
            self.wrapper = stage.session
            stage.session = self.wrapper.session

        def __exit__(self, *exc: object) -> None:
            stage.session = self.wrapper

    return _Raw()


def test_padding_changes_neither_boxes_nor_texts(engine: Engine) -> None:
    card = rendered(6, "clean").image
    # a size whose detector input (416x640 at most 704) is padded to the 448x704 canvas
    img = cv2.resize(card, (640, 416), interpolation=cv2.INTER_AREA)
    assert det_canvas(416, 640) != (416, 640)
    padded = engine.detect(img, max_side=704)
    with _unpadded(engine, engine._det):
        plain = engine.detect(img, max_side=704)
    assert len(plain) >= 4 and len(padded) == len(plain)
    for a, b in zip(sorted(padded, key=lambda x: tuple(x.quad[0])), sorted(plain, key=lambda x: tuple(x.quad[0]))):
        assert np.abs(a.quad - b.quad).max() <= 2.0
    crops = []
    for line in plain:
        x0, y0 = np.floor(line.quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(line.quad.max(axis=0)).astype(int)
        crops.append(img[max(0, y0):y1, max(0, x0):x1])
    got = engine.recognize(crops)
    with _unpadded(engine, engine._rec):
        want = engine.recognize(crops)
    assert [t for t, _ in got] == [t for t, _ in want]
    assert sum(1 for t, _ in want if t) >= 4
