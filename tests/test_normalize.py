"""normalize: labels, nation snapping, sex, birth/validity dates, address joining and the §5 term rule."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from idcard_ocr import normalize as nz
from idcard_ocr.normalize import (
    LABELS,
    LONG_TERM,
    NATIONS,
    join_address,
    normalize_sex,
    parse_birth,
    parse_date,
    parse_validity,
    snap_nation,
    strip_label,
    term_years,
    validity_term_ok,
)

TODAY = dt.date.today()
past_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
card_dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))
DASHES = ["-", "一", "—", "－", "~", "–"]


# --------------------------------------------------------------------------- labels


def test_strip_label() -> None:
    assert strip_label("姓名张三", LABELS) == "张三"
    assert strip_label("姓 名：张三", LABELS) == "张三"
    assert strip_label("公民身份号码 11010519491231002X", LABELS) == "11010519491231002X"
    assert strip_label("签发机关北京市公安局东城分局", LABELS) == "北京市公安局东城分局"
    assert strip_label("住址住址北京市", LABELS) == "北京市"  # repeated label
    assert strip_label("张三", LABELS) == "张三"
    assert strip_label("北京市住址", LABELS) == "北京市住址"  # only a leading label goes
    assert strip_label("出生", LABELS) == ""
    assert strip_label("姓名张三") == "张三"  # defaults to the card's labels


# --------------------------------------------------------------------------- nation


def test_nations_table() -> None:
    assert len(NATIONS) == 56 == len(set(NATIONS))
    assert not any("族" in n for n in NATIONS)


@pytest.mark.parametrize("nation", NATIONS)
def test_every_nation_snaps_to_itself(nation: str) -> None:
    assert snap_nation(nation) == (nation, 1.0)
    assert snap_nation(nation + "族") == (nation, 1.0)
    assert snap_nation(f"民族 {nation}") == (nation, 1.0)
    assert snap_nation(f" {' '.join(nation)} ") == (nation, 1.0)


def test_short_names_prefer_exact() -> None:
    assert snap_nation("土") == ("土", 1.0)
    assert snap_nation("土家") == ("土家", 1.0)
    assert snap_nation("土家族") == ("土家", 1.0)
    for one in ("水", "京", "回", "白", "怒", "汉"):
        assert snap_nation(one) == (one, 1.0)
        assert snap_nation(one + "族") == (one, 1.0)


def test_near_misses_and_rejects() -> None:
    assert snap_nation("维吾") == ("维吾尔", pytest.approx(0.8))
    assert snap_nation("家")[0] == "土家"  # type: ignore[index]
    assert snap_nation("哈克")[0] == "哈萨克"  # type: ignore[index]
    assert snap_nation("漢") == ("汉", 0.95)  # traditional form
    assert snap_nation("畬族") == ("畲", 0.95)  # variant form
    for junk in ("", "  ", "族", "民族", "男", "1978", "abc", "日", "公安局"):
        assert snap_nation(junk) is None, junk
    assert snap_nation("布") is None  # 布依 or 布朗
    assert snap_nation("佬") is None  # 仫佬 or 仡佬


def _dropped_ok(nation: str, i: int) -> None:
    damaged = nation[:i] + nation[i + 1:]
    got = snap_nation(damaged)
    if damaged in NATIONS:  # 土家 minus 家 is 土, a nation in its own right
        assert got == (damaged, 1.0)
    else:
        assert got is None or got[0] == nation, (nation, damaged, got)
        if got:
            assert 0.5 <= got[1] < 1.0


def test_one_character_dropped_exhaustive() -> None:
    recovered = 0
    for n in NATIONS:
        for i in range(len(n)):
            if len(n) >= 2:
                _dropped_ok(n, i)
                recovered += snap_nation(n[:i] + n[i + 1:]) is not None
    assert recovered > 60  # most are recovered, not merely "not wrong"


@given(st.sampled_from([n for n in NATIONS if len(n) >= 2]), st.data())
def test_one_character_dropped_property(nation: str, data: st.DataObject) -> None:
    _dropped_ok(nation, data.draw(st.integers(0, len(nation) - 1)))


@given(
    st.sampled_from(NATIONS), st.text(alphabet=" 族:：\n", max_size=4), st.text(alphabet=" 族", max_size=3)
)
def test_nation_with_label_noise_property(nation: str, pre: str, post: str) -> None:
    assert snap_nation("民族" + pre + nation + post) == (nation, 1.0)


# --------------------------------------------------------------------------- sex


def test_normalize_sex() -> None:
    assert normalize_sex("男") == "男"
    assert normalize_sex("性别女") == "女"
    assert normalize_sex("性 别 男 ") == "男"
    assert normalize_sex(" 女.") == "女"
    assert normalize_sex("男女") is None
    assert normalize_sex("性别") is None
    assert normalize_sex("") is None


# --------------------------------------------------------------------------- dates


def test_parse_birth_examples() -> None:
    assert parse_birth("1978年10月27日") == "1978-10-27"
    assert parse_birth("1978 年 3 月 7 日") == "1978-03-07"
    assert parse_birth("出生1978年3月7日") == "1978-03-07"
    assert parse_birth("出生 1978年 10月 27日") == "1978-10-27"
    assert parse_birth("l978年lO月27日") == "1978-10-27"  # l→1, O→0
    assert parse_birth("1978年1O月2 7日") == "1978-10-27"  # a split day still gives 8 digits
    assert parse_birth("19781027") == "1978-10-27"
    assert parse_birth("１９７８年１０月２７日") == "1978-10-27"  # full-width digits


def test_parse_birth_rejects() -> None:
    for bad in ("", "出生", "1978年2月30日", "1978年13月1日", "1978年10月", "abc", "1978年10月27"[:6]):
        assert parse_birth(bad) is None, bad
    future = TODAY + dt.timedelta(days=400)
    assert parse_birth(f"{future.year}年{future.month}月{future.day}日") is None
    assert parse_birth("1850年1月1日") is None
    assert parse_birth("2000年2月29日") == "2000-02-29"
    assert parse_birth("1900年2月29日") is None


def test_parse_date() -> None:
    assert parse_date("2004.10.27") == "2004-10-27"
    assert parse_date("2004 10 27") == "2004-10-27"
    assert parse_date("2004-1-5") == "2004-01-05"
    assert parse_date("2004/10/27") == "2004-10-27"
    assert parse_date("20041027") == "2004-10-27"
    assert parse_date("2004.1027") == "2004-10-27"
    assert parse_date("2004.10.2") == "2004-10-02"
    assert parse_date("2004.10.277") is None
    assert parse_date("2004.13.01") is None
    assert parse_date("") is None


def _birth_styles(d: dt.date) -> list[str]:
    y, m, dd = d.year, d.month, d.day
    return [
        f"{y}年{m}月{dd}日",
        f"{y} 年 {m} 月 {dd} 日",
        f"出生{y}年{m}月{dd}日",
        f"出生 {y}年{m:02}月{dd:02}日",
        f"{y}年{m}月{dd}日".replace("0", "O").replace("1", "l"),
        f"{y:04}{m:02}{dd:02}",
    ]


@given(past_dates)
def test_birth_styles_parse_back(d: dt.date) -> None:
    for text in _birth_styles(d):
        assert parse_birth(text) == d.isoformat(), text


@given(past_dates, st.lists(st.sampled_from([" ", ".", "-", "/", "  "]), min_size=7, max_size=7))
def test_parse_date_any_separators(d: dt.date, seps: list[str]) -> None:
    digits = d.strftime("%Y%m%d")
    text = "".join(c + s for c, s in zip(digits, [*seps, ""], strict=True))
    assert parse_date(text) == d.isoformat()


def test_parse_validity_examples() -> None:
    assert parse_validity("2004.10.27-2024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004.10.27-长期") == ("2004-10-27", LONG_TERM)
    assert parse_validity("有效期限2004.10.27-长期") == ("2004-10-27", LONG_TERM)
    assert parse_validity("有效期限 2004.10.27 一 2024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004.10.27—2024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004.10.27－2024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004.10.27~2024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("20041027-20241026") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004102720241026") == ("2004-10-27", "2024-10-26")  # dash lost too
    assert parse_validity("2004.10.272024.10.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("2004.1O.27-2024.lO.26") == ("2004-10-27", "2024-10-26")
    assert parse_validity("效期限2014.3.5-2024.3.5") == ("2014-03-05", "2024-03-05")
    assert parse_validity("2004.10.27-長期") == ("2004-10-27", LONG_TERM)


def test_parse_validity_partial() -> None:
    assert parse_validity("2004.10.27-") == ("2004-10-27", None)
    assert parse_validity("2004.10.27-2024.1") == ("2004-10-27", None)
    assert parse_validity("2004.1-2024.10.26") == (None, "2024-10-26")
    assert parse_validity("-长期") == (None, LONG_TERM)
    assert parse_validity("") == (None, None)
    assert parse_validity("有效期限") == (None, None)


@given(card_dates, card_dates, st.sampled_from(DASHES), st.booleans(), st.booleans(), st.booleans())
def test_validity_styles_parse_back(
    a: dt.date, b: dt.date, dash: str, dots: bool, spaces: bool, label: bool
) -> None:
    sep = "." if dots else ""
    fmt = f"%Y{sep}%m{sep}%d"
    gap = " " if spaces else ""
    head = "有效期限" + gap if label else ""
    text = f"{head}{a.strftime(fmt)}{gap}{dash}{gap}{b.strftime(fmt)}"
    assert parse_validity(text) == (a.isoformat(), b.isoformat()), text
    assert parse_validity(f"{head}{a.strftime(fmt)}{gap}{dash}{gap}长期") == (a.isoformat(), LONG_TERM)


# --------------------------------------------------------------------------- address


def test_join_address() -> None:
    assert join_address(["住址北京市东城区", "东四十条 21 号", "2楼"]) == "北京市东城区东四十条21号2楼"
    assert join_address(["住 址 广东省", "", "  ", "汕头市"]) == "广东省汕头市"
    assert join_address(["湖南省长沙市住址街"]) == "湖南省长沙市住址街"  # label only when leading
    assert join_address(["", "住址 上海市"]) == "上海市"
    assert join_address(["北京市\u3000朝阳区"]) == "北京市朝阳区"
    assert join_address([]) == ""


# --------------------------------------------------------------------------- validity term


def test_term_years() -> None:
    assert [term_years(a) for a in (0, 15, 16, 25, 26, 45, 46, 90)] == [5, 5, 10, 10, 20, 20, None, None]
    with pytest.raises(ValueError):
        term_years(-1)


def test_validity_term_rule() -> None:
    # age 10 → 5 years; the end prints the same day or the day before
    assert validity_term_ok("2000-06-01", "2010-07-01", "2015-07-01") is True
    assert validity_term_ok("2000-06-01", "2010-07-01", "2015-06-30") is True
    assert validity_term_ok("2000-06-01", "2010-07-01", "2015-06-29") is False
    assert validity_term_ok("2000-06-01", "2010-07-01", "2020-07-01") is False
    # age 20 → 10, age 30 → 20, age 50 → 长期
    assert validity_term_ok("1990-01-01", "2010-07-01", "2020-07-01") is True
    assert validity_term_ok("1990-01-01", "2010-07-01", "2030-07-01") is False
    assert validity_term_ok("1980-01-01", "2010-07-01", "2030-06-30") is True
    assert validity_term_ok("1980-01-01", "2010-07-01", LONG_TERM) is False
    assert validity_term_ok("1960-01-01", "2010-07-01", LONG_TERM) is True
    assert validity_term_ok("1960-01-01", "2010-07-01", "2030-07-01") is False


def test_validity_term_feb_29() -> None:
    # Issued on 29 Feb to a 20-year-old: ten years later there is no 29 Feb.
    for end in ("2018-02-28", "2018-03-01", "2018-02-27"):
        assert validity_term_ok("1988-05-05", "2008-02-29", end) is True, end
    assert validity_term_ok("1988-05-05", "2008-02-29", "2018-03-02") is False
    # Born on 29 Feb, issued on 28 Feb of the (common) 26th year: still 25, so ten years, not twenty.
    assert validity_term_ok("1988-02-29", "2014-02-28", "2024-02-28", grace_days=0) is True
    assert validity_term_ok("1988-02-29", "2014-02-28", "2034-02-28", grace_days=0) is False
    assert validity_term_ok("1988-02-29", "2014-03-01", "2034-03-01", grace_days=0) is True
    # Into a leap year the same calendar day exists.
    assert validity_term_ok("1990-01-01", "2012-02-29", "2022-02-28") is True


def test_validity_term_near_birthday_grace() -> None:
    # Applied at 15, issued a fortnight after the 16th birthday: both terms are genuine.
    assert validity_term_ok("1990-06-01", "2006-06-15", "2011-06-15") is True
    assert validity_term_ok("1990-06-01", "2006-06-15", "2016-06-15") is True
    assert validity_term_ok("1990-06-01", "2006-06-15", "2011-06-15", grace_days=0) is False
    # Well past the birthday only the new term fits.
    assert validity_term_ok("1990-06-01", "2006-12-15", "2011-12-15") is False


def test_validity_term_missing_or_bad() -> None:
    assert validity_term_ok(None, "2010-07-01", "2015-07-01") is None
    assert validity_term_ok("2000-06-01", None, "2015-07-01") is None
    assert validity_term_ok("2000-06-01", "2010-07-01", None) is None
    assert validity_term_ok("2000-06-01", "2010-07-01", "") is None
    assert validity_term_ok("garbage", "2010-07-01", "2015-07-01") is None
    assert validity_term_ok("2000-06-01", "2010-07-01", "2015-13-01") is None
    assert validity_term_ok("2000-06-01", "1999-07-01", "2004-07-01") is False  # issued before birth
    assert validity_term_ok("2000年6月1日", "2010.07.01", "2015.07.01") is True  # printed styles too


def _term_for(birth: dt.date, start: dt.date) -> int | None:
    age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
    return term_years(age)


def _plus_years(d: dt.date, n: int) -> dt.date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return dt.date(d.year + n, 2, 28)


@settings(max_examples=200)
@given(
    st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.booleans(),
)
def test_validity_term_property(birth: dt.date, start: dt.date, day_before: bool) -> None:
    assume(start >= birth)
    n = _term_for(birth, start)
    if n is None:
        assert validity_term_ok(birth.isoformat(), start.isoformat(), LONG_TERM) is True
        return
    end = _plus_years(start, n) - dt.timedelta(days=int(day_before))
    assert validity_term_ok(birth.isoformat(), start.isoformat(), end.isoformat()) is True
    # A term two steps away from the right one never fits, whatever the grace.
    wrong = {5: 20, 10: None, 20: 5}[n]
    if wrong is None:
        assert validity_term_ok(birth.isoformat(), start.isoformat(), LONG_TERM) is False
    else:
        end = _plus_years(start, wrong)
        assert validity_term_ok(birth.isoformat(), start.isoformat(), end.isoformat()) is False


def test_normalize_name_unifies_dots_and_spaces() -> None:
    from idcard_ocr.normalize import normalize_name

    assert normalize_name("帕提古丽・伊力哈木") == "帕提古丽·伊力哈木"
    assert normalize_name("阿卜杜拉 • 吾斯曼") == "阿卜杜拉·吾斯曼"
    assert normalize_name(" 禤 燊 ") == "禤燊"


def test_normalize_name_drops_latin_noise_keeps_rare_characters() -> None:
    from idcard_ocr.normalize import normalize_name

    assert normalize_name("xs贺俊明") == "贺俊明"
    assert normalize_name("禤燊𠅤") == "禤燊𠅤"  # CJK extension B stays


def test_drop_specks_only_between_digits() -> None:
    from idcard_ocr.normalize import drop_specks

    assert drop_specks("5206242021.02059136") == "520624202102059136"
    assert drop_specks("公民身份号码 1101,0519") == "公民身份号码 11010519"
    assert drop_specks("姓名.张三") == "姓名.张三"


@pytest.mark.parametrize(("read", "office"), [
    ("上杭县公安属", "上杭县公安局"), ("深圳市公安局福田分扃", "深圳市公安局福田分局"),
    ("。哈巴河县公安局", "哈巴河县公安局"),
    ("某某县公安处", "某某县公安处"), ("公安属", "公安属"),  # not a 局 look-alike; too short to be an office
])
def test_authority_last_character(read: str, office: str) -> None:
    assert nz.normalize_authority(read) == office
