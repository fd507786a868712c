"""An image with no ID card answers without reading the same lines twice (pipeline._find_cards, orient).

Each rule here saves recognition on negatives (bank cards, documents, desks) without changing what is read on
a card: the end-to-end tests hold that part."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from idcard_ocr import pipeline
from idcard_ocr.engine import Engine, Line
from idcard_ocr.locate import iou, straighten
from idcard_ocr.orient import hypotheses, key_kind, long_lines

if TYPE_CHECKING:
    from tools.synth import Sample

Render = Callable[[int, str], "Sample"]


@pytest.mark.parametrize("text", ["6235 0986 8027 8536", "6220176233536778", "6297 1702 0080 2392 314"])
def test_a_bank_card_number_is_no_validity_line(text: str) -> None:
    # (16 digits match the validity's digit pattern: 6235 09 86 802 7853)
    assert key_kind(text) is None


@pytest.mark.parametrize("text", ["2015.04.10-2035.04.10", "20150410-长期", "2015.04.102035.04.1O"])
def test_a_validity_line_is_still_one(text: str) -> None:
    assert key_kind(text) == "validity"


class _Lines:
    """An engine whose detector returns given lines and whose recognizer reads every crop as given."""

    def __init__(self, quads: list[np.ndarray], text: str = "银行卡", conf: float = 0.98) -> None:
        self.quads, self.text, self.conf = quads, text, conf
        self.recognized = 0

    def detect(self, img: np.ndarray, max_side: int = 960, box_thresh: float = 0.5) -> list[Line]:
        return [Line(q.astype(np.float32), 0.9) for q in self.quads]

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        self.recognized += len(crops)
        return [(self.text, self.conf) for _ in crops]

    def upside_down(self, crops: list[np.ndarray]) -> list[float]:
        return [0.1 for _ in crops]


def _line(x0: float, y0: float, length: float, height: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + length, y0], [x0 + length, y0 + height], [x0, y0 + height]], np.float32)


def test_lines_longer_than_any_key_line_are_a_pages_text() -> None:
    # The number strip is ~13 times as long as high (~20 boxed with its label); a page's lines are longer.
    number, title, paragraph = _line(10, 10, 260, 20), _line(10, 60, 100, 20), _line(10, 110, 600, 20)
    got = long_lines(np.zeros((400, 700, 3), np.uint8), _Lines([paragraph, number, title]))  # type: ignore[arg-type]
    assert [float(ln.quad[1, 0] - ln.quad[0, 0]) for ln in got] == [260.0, 100.0]


def test_lines_read_clearly_with_no_key_line_are_not_read_upside_down() -> None:
    card = np.full((540, 856, 3), 230, np.uint8)
    quads = [_line(60, 80 + 60 * i, 400 - 30 * i, 30) for i in range(4)]
    clear = _Lines(quads)
    assert hypotheses(card, clear) == []  # type: ignore[arg-type]
    unsure = _Lines(quads, conf=0.5)  # read upside down, perhaps: the other way up is tried too
    assert hypotheses(card, unsure) == []  # type: ignore[arg-type]
    assert clear.recognized == 3 and unsure.recognized == 6  # the three widest, once or both ways up


class _Mixed(_Lines):
    """Reads each call's crops in turn from `reads` (a page: some lines cut or faint, some clear prose)."""

    def __init__(self, quads: list[np.ndarray], reads: list[list[tuple[str, float]]]) -> None:
        super().__init__(quads)
        self.reads = reads

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        self.recognized += len(crops)
        return self.reads.pop(0)[: len(crops)] if self.reads else [("", 0.0) for _ in crops]


def test_a_line_of_chinese_read_clearly_settles_the_way_up() -> None:
    # A page's block outlined like a card: its widest line cut by the outline reads unsure, and so the other way
    # up was tried as well; a clear run of Chinese among its lines says this way up is right (upside down,
    # Chinese does not read as Chinese: 0 of 993 card lines turned over read a run of six above 0.63).
    card = np.full((540, 856, 3), 230, np.uint8)
    quads = [_line(60, 40 + 50 * i, 500 - 20 * i, 30) for i in range(3)] + \
        [_line(60, 200 + 50 * i, 200, 30) for i in range(3)]  # three as short as the number's label
    page = [[("电可能具有語有的是", 0.61)], [("", 0.0), ("畫本大生", 0.33)],
            [("学习网上知道开发工程", 0.98), ("结果电影", 0.97), ("应为", 0.96)]]
    eng = _Mixed(quads, [list(r) for r in page])
    assert hypotheses(card, eng) == []  # type: ignore[arg-type]
    assert eng.recognized == 6  # this way up only
    digits = [[("6220176233536778", 0.95)], [("", 0.0), ("畫本", 0.33)], [("VALID THRU", 0.97)]]
    eng = _Mixed(quads, [list(r) for r in digits])  # no run of Chinese: perhaps upside down, tried both ways
    assert hypotheses(card, eng) == []  # type: ignore[arg-type]
    assert eng.recognized == 12


def test_a_screens_moire_is_told_from_print(render: Render, detailed: Callable[[int, str], Any]) -> None:
    # Only where a screen's moire can hide the lines is the grey copy detected again.
    for condition, moire in (("screen", True), ("clean", False), ("photocopy", False)):
        d = detailed(3, condition)
        view = d.views[0]
        card = straighten(d.decoded.pixels, np.array(view.card.quad, np.float32))
        assert pipeline._moire(card) is moire, condition


def test_a_bank_cards_lines_are_recognized_once(engine: Engine, render: Render,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Its outline is read to no card, recognizing its widest lines; the key-line search over the whole image
    # then skips those lines (but its number: a line of many digits may be an ID number misread through a quad
    # that is not the card's), and the card checks take the text already read to tell another card.
    s = render(0, "neg_bank_card")
    read_lines: list[np.ndarray] = []
    searched: list[Line] = []
    read_quad, place = pipeline.read_quad, pipeline.place_by_key_lines

    def reading(img: np.ndarray, quad: np.ndarray, eng: Engine, grey_retry: bool = True,
                seen: list[tuple[np.ndarray, str]] | None = None, edges: Any = None) -> Any:
        got = read_quad(img, quad, eng, grey_retry, seen=seen, edges=edges)
        read_lines.extend(q for q, t in seen or [] if not pipeline._many_digits(t))
        return got

    def placing(img: np.ndarray, lines: list[Line], eng: Engine) -> list[np.ndarray]:
        searched.extend(lines)
        return place(img, lines, eng)

    monkeypatch.setattr(pipeline, "read_quad", reading)
    monkeypatch.setattr(pipeline, "place_by_key_lines", placing)
    d = pipeline.read_detailed(s.image, engine=engine)
    assert d.reading.side == "none" and read_lines
    assert d.unread and any(t for _, t in d.unread)
    assert not any(iou(ln.quad, q) > pipeline._SAME_LINE_IOU for ln in searched for q in read_lines)
