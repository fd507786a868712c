"""Look-alike characters in place names, told apart by the recognizer's own second readings and the area table."""

from __future__ import annotations

import pytest

from idcard_ocr.boxes import box_of, crop
from idcard_ocr.engine import Engine
from idcard_ocr.pipeline import read, read_detailed
from tools.synth import make_sample

# bench.run's samples (seed 20261126 * 100_003 + i) where a rare character was read as its look-alike
_OFFICE = (20261126 * 100_003 + 63, "photocopy", "plain")  # 宿州市公安局埇桥分局, 埇 read as 埔
_COUNTY = (20261126 * 100_003 + 83, "jpeg", "varied")  # 峄城区 read as 峰城区; the holder's number is from elsewhere


def test_the_alternatives_are_the_read_with_its_doubts(engine: Engine) -> None:
    seed, condition, layout = _OFFICE
    d = read_detailed(make_sample(seed, condition, layout=layout).image, engine=engine, checks=False)
    card = d.views[0].upright
    for line in engine.detect(card)[:6]:
        piece = crop(card, box_of(line.quad))
        got = engine.read_alternates(piece)
        text, _ = engine.recognize([piece])[0]
        assert "".join(ch for ch, _ in got) == text
        assert all(alts[0][0] == ch for ch, alts in got)  # the character read first, then the others by likelihood
        assert all(alts[0][1] >= p for _, alts in got for _, p in alts)


@pytest.mark.parametrize(("sample", "key", "truth_part"),
                         [(_OFFICE, "authority", "埇桥"), (_COUNTY, "address", "峄城区")])
def test_a_look_alike_in_a_place_name_is_read_right(sample: tuple[int, str, str], key: str, truth_part: str,
                                                    engine: Engine) -> None:
    seed, condition, layout = sample
    s = make_sample(seed, condition, layout=layout)
    r = read(s.image, engine=engine)
    assert truth_part in s.truth.fields[key]
    assert r.fields[key].value == s.truth.fields[key]
