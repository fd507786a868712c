"""Causes found on the renderer's `lowq` condition (a small card far off in a noisy, heavily compressed photo,
rendered on request: bench.run --conditions lowq): each card the reader answered `none` for, rendered again,
is now found, and the mechanism that found it is tested on its own."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pytest

from idcard_ocr import normalize as nz
from idcard_ocr.engine import Engine, Line
from idcard_ocr.orient import long_lines, place_by_key_lines

if TYPE_CHECKING:
    from tools.synth import Sample

_BENCH_SEED = 20261126  # bench.run's default seed: sample i is make_sample(seed * 100_003 + i, ...)


@cache
def _lowq(i: int, seed: int = _BENCH_SEED, layout: str = "plain") -> Sample:
    from tools.synth import make_sample

    return make_sample(seed * 100_003 + i, "lowq", layout=layout)


@pytest.mark.parametrize(("i", "keys", "cause"), [
    (5, ("valid_from", "valid_to"), "a stroke of the faint 有效期限 label read 'i' before the dates: a five-digit "
                                    "year, so no date, so the back (its office misread) held no field"),
    (27, ("authority", "valid_from", "valid_to"), "the title of a small card amid receipts is shorter than their "
                                                  "lines: the search for key lines never read it"),
    (31, ("number",), "the direction classifier was sure (0.94) the small card's number strip lay upside down: "
                      "read that way it was 12 digits, no key line"),
])
def test_the_small_card_is_found(engine: Engine, i: int, keys: tuple[str, ...], cause: str) -> None:
    from idcard_ocr import read

    s = _lowq(i)
    r = read(s.image, engine=engine)
    assert r.side == s.truth.side, cause
    assert {k: r.fields[k].value for k in keys if k in r.fields} == {k: s.truth.fields[k] for k in keys}, cause


def test_a_five_digit_year_is_a_mark_before_a_four_digit_one() -> None:
    assert nz.parse_validity("i2006.10.022026.10.02") == ("2006-10-02", "2026-10-02")
    assert nz.parse_validity("l2006.10.02-长期") == ("2006-10-02", "长期")
    assert nz.parse_validity("2006.10.02-2026.10.02") == ("2006-10-02", "2026-10-02")
    assert nz.parse_validity("12006.10.02") == ("2006-10-02", None)  # one date: still the better reading
    assert nz.parse_validity("12345.67.89") == (None, None)


class _Stub:
    """An engine whose classifier calls every line upside down, and whose recognizer reads a line as the
    number strip only the right way up (a bright left half marks it), as digits either way."""

    def __init__(self, lines: list[Line] | None = None) -> None:
        self.lines = lines or []

    def detect(self, img: np.ndarray, max_side: int = 960, box_thresh: float = 0.5) -> list[Line]:
        return self.lines

    def upside_down(self, crops: list[np.ndarray]) -> list[float]:
        return [0.94] * len(crops)

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        def one(c: np.ndarray) -> str:
            w = c.shape[1]
            return "110101199003070011" if c[:, : w // 2].mean() > c[:, w // 2:].mean() else "532225221425"
        return [(one(c), 0.99) for c in crops]


def _strip_image() -> tuple[np.ndarray, Line]:
    img = np.zeros((400, 600, 3), np.uint8)
    img[200:220, 100:250] = 255  # the strip's left half bright: the right way up is left to right
    quad = np.array([[100, 200], [400, 200], [400, 220], [100, 220]], np.float32)
    return img, Line(quad, 0.9)


def test_a_run_of_digits_that_places_no_card_is_read_the_other_way_up_too() -> None:
    img, line = _strip_image()
    placed = place_by_key_lines(img, [line], _Stub())  # type: ignore[arg-type]
    assert len(placed) == 1
    card = placed[0]
    # placed as read left to right: the card's top-left corner lies left of and above the strip
    assert card[0][0] < 100 and card[0][1] < 200


def test_the_tallest_title_shaped_lines_are_searched_beside_the_longest() -> None:
    def line(x: float, y: float, w: float, h: float) -> Line:
        return Line(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32), 0.9)

    receipt = [line(10, 20 * k, 260 - k, 14) for k in range(8)]  # long thin lines (18:1), each longer than the title
    title = line(400, 50, 200, 40)  # 5:1, three times their height
    got = long_lines(np.zeros((800, 800, 3), np.uint8), _Stub([*receipt, title]))  # type: ignore[arg-type]
    assert any(g is title for g in got)
    assert len(got) <= 9  # the search stays bounded


# ---------------------------------------------------------------- sex and nation by likelihood (ctc.py)


def test_ctc_log_likelihoods_sum_every_alignment() -> None:
    import itertools

    from idcard_ocr.ctc import log_likelihoods

    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(4), size=5)  # 5 frames, classes 0 (blank) .. 3

    def brute(target: list[int]) -> float:
        total = 0.0
        for path in itertools.product(range(4), repeat=5):
            out, prev = [], None
            for c in path:
                if c != prev and c != 0:
                    out.append(c)
                prev = c
            if out == target:
                total += float(np.prod([probs[t, c] for t, c in enumerate(path)]))
        return float(np.log(total))

    targets = [[], [1], [1, 1], [1, 2], [2, 1, 2]]
    assert np.allclose(log_likelihoods(probs, targets), [brute(t) for t in targets])


@pytest.mark.parametrize("i", [7, 20, 36])
def test_a_nation_read_as_no_nation_is_read_by_likelihood(engine: Engine, i: int) -> None:
    from idcard_ocr import read

    s = _lowq(i)
    r = read(s.image, engine=engine)
    assert r.fields["nation"].value == s.truth.fields["nation"]
    assert r.fields["nation"].confidence < 0.6  # below a value read outright


class _Frames:
    """An engine whose recognizer's frames are given."""

    def __init__(self, probs: np.ndarray, charset: dict[str, int]) -> None:
        self.probs, self.charset = probs, charset

    def frames(self, crop: np.ndarray) -> np.ndarray:
        return self.probs


def _frames(charset: dict[str, int], chars: list[tuple[str, float]], junk: int, n: int = 30) -> np.ndarray:
    """n frames: blanks, and one frame per (character, its probability) spread along the line, the rest of
    that frame's mass on the class `junk`."""
    probs = np.full((n, len(charset) + 1), 1e-6)
    probs[:, 0] = 1.0
    for j, (ch, p) in enumerate(chars):
        t = (j + 1) * n // (len(chars) + 1)
        probs[t, 0] = 0.0
        probs[t, charset[ch]] = p
        probs[t, junk] = 1.0 - p
    return probs / probs.sum(axis=1, keepdims=True)


def _likelihood_read(probs: np.ndarray, charset: dict[str, int]) -> dict[str, str]:
    from idcard_ocr.boxes import box_of
    from idcard_ocr.fields import Item, _sex_nation_by_likelihood

    f: dict = {}
    box = box_of(np.array([[10, 20], [40, 20], [40, 24], [10, 24]], np.float32))  # mm on the card
    _sex_nation_by_likelihood(np.zeros((540, 856, 3), np.uint8), [Item(box, "案设", 0.35)], f,
                              _Frames(probs, charset))  # type: ignore[arg-type]
    return {k: v.value for k, v in f.items()}


def test_a_value_the_frames_favour_is_taken_and_one_never_seen_is_not(engine: Engine) -> None:
    cs = engine.charset
    junk = cs["案"]
    # 女 and 汉 each the second reading (35 %) of a frame the recognizer read as 案: taken
    assert _likelihood_read(_frames(cs, [("女", 0.35), ("汉", 0.35)], junk), cs) == {"sex": "女", "nation": "汉"}
    # as likely 男 as 女: no sex; the nation still stands out
    both = _frames(cs, [("女", 0.2), ("汉", 0.35)], junk)
    t = int(np.flatnonzero(both[:, cs["女"]] > 0.1)[0])
    both[t, cs["男"]] = both[t, cs["女"]]
    both /= both.sum(axis=1, keepdims=True)
    assert _likelihood_read(both, cs) == {"nation": "汉"}
    # 女 and 汉 far likelier than any other value, yet never 5 % of a frame: not seen there, not taken
    assert _likelihood_read(_frames(cs, [("女", 0.04), ("汉", 0.04)], junk), cs) == {}


@pytest.mark.parametrize(("seed", "i", "key", "cause"), [
    (777, 18, "name", "名 led the name, and no line started with an exact label (性刻, 6, 做): the column was "
                      "taken for none"),
    (777, 21, "authority", "the label boxed apart as 三关, its box running 1.8 mm into the office's"),
    (777, 32, "authority", "the label read 指发利关 in the office's box: half of it right, its last character too"),
    (_BENCH_SEED, 8, "authority", "the faint 签发机关 read 营本机关 in the office's box: two characters "
                                  "wrong, so the label led the office; its 县 and 局 read with less than even odds"),
    (_BENCH_SEED, 14, "name", "the · joining a minority name's parts read '-' (· at 0.44 there), dropped as dust"),
    (_BENCH_SEED, 20, "name", "姓 of the 姓名 label never read: 名 led the name in the box that began at the label"),
    (_BENCH_SEED, 24, "authority", "the label boxed apart and read BEAR, joined to the office; 大庄 and 红周 doubted"),
    (777, 13, "valid_from", "the first date's day read 08 for 03: a term runs whole years, and the recognizer also "
                            "read the 3 of the second date's day there"),
    (_BENCH_SEED, 35, "authority", "五大连池市 read 五大连治市 with 治 at 0.18: no look-alike the recognizer gave 5 %"),
])
def test_a_small_cards_label_and_doubted_office(engine: Engine, seed: int, i: int, key: str, cause: str) -> None:
    from idcard_ocr import read

    s = _lowq(i, seed)
    r = read(s.image, engine=engine)
    assert r.fields[key].value == s.truth.fields[key], cause


def test_half_a_long_label_with_its_end_right_leads_a_line_and_an_office_never_does() -> None:
    from idcard_ocr.fields import BACK_LABELS, split_label

    assert split_label("营本机关徐闻县公安局", BACK_LABELS, True) == ("authority", "徐闻县公安局")
    assert split_label("百效期限2015.04.10-2035.04.10", BACK_LABELS, True)[0] == "validity"
    assert split_label("营本机务徐闻县公安局", BACK_LABELS, True)[0] is None  # its end wrong too
    assert split_label("关岭布依族苗族自治县公安局", BACK_LABELS, True)[0] is None


def test_the_ju_of_gongan_ju_before_a_branch() -> None:
    assert nz.normalize_authority("深圳市公安易盐田分局") == "深圳市公安局盐田分局"
    assert nz.normalize_authority("深圳市公安易") == "深圳市公安局"
    assert nz.normalize_authority("公安县公安局") == "公安县公安局"  # 公安县's own 公安 stays


def test_a_ranges_two_days_agree_where_the_recognizer_also_read_it() -> None:
    from idcard_ocr.fields import _same_day

    def read(text: str, doubts: dict[int, list[tuple[str, float]]]) -> list[tuple[str, list[tuple[str, float]]]]:
        return [(ch, [(ch, 0.6), *doubts.get(i, [])]) for i, ch in enumerate(text)]

    text = "2005.02.06-2025.02.08"  # digit 7 of the first date is character 9
    assert _same_day("2005-02-06", "2025-02-08", read(text, {9: [("8", 0.3)]})) == ("2005-02-08", "2025-02-08")
    assert _same_day("2005-02-06", "2025-02-08", read(text, {20: [("6", 0.3)]})) == ("2005-02-06", "2025-02-06")
    # neither, or both, read the other's digit: nothing says which is wrong
    assert _same_day("2005-02-06", "2025-02-08", read(text, {})) == ("2005-02-06", "2025-02-08")
    both = {9: [("8", 0.3)], 20: [("6", 0.3)]}
    assert _same_day("2005-02-06", "2025-02-08", read(text, both)) == ("2005-02-06", "2025-02-08")


@pytest.mark.parametrize(("seed", "i", "cause"), [
    (777, 31, "the 有效期限 label boxed apart and read NOEN: its letters read as digits before the first date"),
    (_BENCH_SEED, 12, "有效期限 read 有效期 with the range in one box: the year's 2 taken for the label's 限"),
])
def test_a_layout_varied_small_cards_validity(engine: Engine, seed: int, i: int, cause: str) -> None:
    from idcard_ocr import read

    s = _lowq(i, seed, "varied")
    r = read(s.image, engine=engine)
    got = {k: r.fields[k].value for k in ("valid_from", "valid_to") if k in r.fields}
    assert got == {k: s.truth.fields[k] for k in ("valid_from", "valid_to")}, cause


def test_no_label_holds_a_digit_so_a_label_read_short_leaves_the_values_digits() -> None:
    from idcard_ocr.fields import BACK_LABELS, split_label

    assert split_label("有效期2017.01.07-2037.01.07", BACK_LABELS, True) == ("validity", "2017.01.07-2037.01.07")
    assert split_label("有效期阴2017.01.07-2037.01.07", BACK_LABELS, True) == ("validity", "2017.01.07-2037.01.07")
    assert nz.normalize_authority("宣威市公室局") == "宣威市公安局"


def test_a_small_back_whose_small_print_is_lost_is_a_back_by_its_two_titles(engine: Engine) -> None:
    from idcard_ocr import read

    s = _lowq(14, 777)  # a back ~230 px wide: its titles read, its office and dates blurred past reading
    assert read(s.image, engine=engine).side == "back"


def test_two_titles_make_a_back_only_as_a_card_prints_them() -> None:
    from idcard_ocr.boxes import Box
    from idcard_ocr.fields import Item, _title_pair

    def item(text: str, x0: float, y0: float, x1: float, y1: float) -> Item:
        return Item(Box(np.zeros((4, 2), np.float32), x0, y0, x1, y1), text, 0.9)

    t1, t2 = item("中华人民共和国", 28.6, 8.0, 71.5, 13.0), item("居民身份证", 23.7, 16.0, 76.5, 23.0)
    assert _title_pair([t1, t2])
    assert not _title_pair([item("中华人民共和国居民身份证法", 10.0, 8.0, 80.0, 13.0)])  # a page's heading
    assert not _title_pair([t2, item("中华人民共和国", 28.6, 30.0, 71.5, 35.0)])  # 居民身份证 above
    assert not _title_pair([t1, item("居民身份证", 60.0, 16.0, 85.0, 23.0)])  # not centred under it
