"""An address's province, city and county checked against the area table (address.py)."""

from __future__ import annotations

import pytest

from idcard_ocr.address import correct, drop_label_tail, mend_office, office_known


@pytest.mark.parametrize(("read", "truth"), [
    # one character wrong in a name of four or more: put right
    ("云南省红河哈尼族舞族自治州泸西县解民东路476弄220号", "云南省红河哈尼族彝族自治州泸西县解民东路476弄220号"),
    ("江西省吉安市共冈山市章请街道南宁西路259号", "江西省吉安市井冈山市章请街道南宁西路259号"),
    ("内蒙古自动区乌兰察布市察哈尔右翼后旗江江乡", "内蒙古自治区乌兰察布市察哈尔右翼后旗江江乡"),
    # right as read: unchanged, whatever follows the county
    ("新疆维吾尔自治区喀什地区疏附县长胜镇幸凤村1组362号", "新疆维吾尔自治区喀什地区疏附县长胜镇幸凤村1组362号"),
    ("北京市东城区景山街道", "北京市东城区景山街道"),  # municipality: no city level printed
    ("海南省五指山市通什镇", "海南省五指山市通什镇"),  # a county-level city under the province itself
    # three characters, one wrong, its 市/区 read right: the one name that close under the level above
    ("北京市东域区景山街道", "北京市东城区景山街道"),
    ("广东省江问市恩平市湾康镇青永村14组83号", "广东省江门市恩平市湾康镇青永村14组83号"),
])
def test_admin_names_snap_to_the_area_table(read: str, truth: str) -> None:
    assert correct(read) == truth


@pytest.mark.parametrize("read", [
    "北京市东城县景山街道",  # three characters, the level's own 区 misread: nothing to anchor the guess to
    "北京市南城区景山街道",  # one character from 东城区 and from 西城区 alike: no one name
    "山东省枣庄市峰城区民西路228号",  # 峄城区 or 薛城区, one character each: left as read
    "南省红河哈尼族彝族自治州",  # no province at the start: nothing to anchor the names to
    "广东省深圳市南山区富安街道湖星小区",  # the town and what follows are not checked
    "",
])
def test_what_cannot_be_told_is_left_as_read(read: str) -> None:
    assert correct(read) == read


@pytest.mark.parametrize(("read", "truth"), [
    ("三北河北省保定市蠡县中合乡陈西村委会", "河北省保定市蠡县中合乡陈西村委会"),  # 住址 read 三北 (faint label ink)
    ("址内蒙古自治区乌兰察布市察哈尔右翼后旗", "内蒙古自治区乌兰察布市察哈尔右翼后旗"),
    ("住北京市朝阳区", "北京市朝阳区"),
])
def test_a_misread_label_before_the_province_is_no_address(read: str, truth: str) -> None:
    # (an address begins with its province; a province's whole name one or two characters in)
    assert correct(read) == truth


@pytest.mark.parametrize("read", ["北西路12号", "城关镇河北省", "三北河北"])
def test_no_province_in_reach_leaves_the_address_as_read(read: str) -> None:
    assert correct(read) == read


def test_specks_inside_an_address_are_dust() -> None:
    from idcard_ocr.normalize import join_address

    assert join_address(["住址广东省湛江市吴川市胜和.·", "街196号"]) == "广东省湛江市吴川市胜和街196号"
    assert join_address(["北京市朝阳区建国路3-2号"]) == "北京市朝阳区建国路3-2号"  # between digits: kept


@pytest.mark.parametrize(("read", "office"), [
    ("关个旧市公安局", "个旧市公安局"), ("机关湛江市吴川市公安局", "湛江市吴川市公安局"),  # the label's end boxed in
    ("关岭布依族苗族自治县公安局", "关岭布依族苗族自治县公安局"),  # a county that begins with 关
    ("个旧市公安局", "个旧市公安局"), ("发某某公安局", "发某某公安局"),  # no place name after it: left as read
])
def test_an_authority_loses_its_labels_tail(read: str, office: str) -> None:
    assert drop_label_tail(read) == office


@pytest.mark.parametrize(("area", "county"), [("370404", "峄城区"), ("370403", "薛城区"), ("", "峰城区"),
                                               ("110101", "峰城区")])
def test_the_numbers_area_breaks_a_tie_between_two_names_equally_near(area: str, county: str) -> None:
    # 峰城区 is one character off 峄城区 and 薛城区 alike: the number's area code says which, if either.
    assert correct("山东省枣庄市峰城区民西路228号", area) == f"山东省枣庄市{county}民西路228号"


def test_a_name_read_exactly_is_kept_whatever_the_numbers_area() -> None:
    assert correct("山东省枣庄市峄城区民西路228号", "370403") == "山东省枣庄市峄城区民西路228号"


def test_an_office_keeps_a_renamed_districts_old_name() -> None:
    # Cards issued before a district was renamed name its old office (邢台市桥西区, now 信都区): one character
    # off a county of the same city (临西县) is no misread, so the office is not snapped to the area table.
    from idcard_ocr.fields import _office

    assert _office("邢台市公安局桥西分局") == "邢台市公安局桥西分局"
    assert _office("关个旧市公安局") == "个旧市公安局"  # (its label's tail is still dropped)


Read = list[tuple[str, list[tuple[str, float]]]]


def _read(text: str, doubts: dict[int, list[tuple[str, float]]] | None = None) -> Read:
    """A recognizer's read of `text`: every character sure, but at the places in `doubts` (its alternatives)."""
    doubts = doubts or {}
    return [(ch, [(ch, 1.0 - sum(p for _, p in doubts.get(i, []))), *doubts.get(i, [])]) for i, ch in enumerate(text)]


@pytest.mark.parametrize(("office", "known"), [
    ("宿州市公安局埇桥分局", True), ("宿州市公安局埔桥分局", False), ("北京市公安局东城分局", True),
    ("秦皇岛市公安局山海关分局", True), ("青龙满族自治县公安局", True), ("个旧市公安局", True),
    ("邢台市公安局桥西分局", False), ("某某公司", None)])
def test_an_offices_names_are_looked_up(office: str, known: bool | None) -> None:
    assert office_known(office) is known


def test_a_look_alike_the_recognizer_also_read_mends_an_office() -> None:
    read = "签发机关宿州市公安局埔桥分局"
    assert mend_office("宿州市公安局埔桥分局", _read(read, {10: [("埇", 0.2), ("场", 0.02)]})) == "宿州市公安局埇桥分局"
    # too unlikely a reading, or none: as read
    assert mend_office("宿州市公安局埔桥分局", _read(read, {10: [("埇", 0.01)]})) == "宿州市公安局埔桥分局"
    # a renamed district the recognizer never doubted keeps its old name, whatever the table now holds
    assert mend_office("邢台市公安局桥西分局", _read("邢台市公安局桥西分局")) == "邢台市公安局桥西分局"


def test_two_mends_are_no_mend() -> None:
    # 峰 read beside both 峄 and 薛: 枣庄 has a 峄城区 and a 薛城区, and nothing tells them apart
    office = "枣庄市公安局峰城分局"
    assert mend_office(office, _read(office, {6: [("峄", 0.2), ("薛", 0.1)]})) == office
    assert mend_office(office, _read(office, {6: [("峄", 0.2)]})) == "枣庄市公安局峄城分局"


def test_the_recognizers_alternatives_break_a_tie_before_the_numbers_area() -> None:
    # 峰城区 is one character from 峄城区 and 薛城区; the recognizer read 峄 beside 峰, the number says 薛城
    read = _read("山东省枣庄市峰城区民西路228号", {6: [("峄", 0.15)]})
    assert correct("山东省枣庄市峰城区民西路228号", "370403", lambda: read) == "山东省枣庄市峄城区民西路228号"
    # no such reading: the number's area decides, as before
    assert correct("山东省枣庄市峰城区民西路228号", "370403", lambda: _read("山东省枣庄市峰城区民西路228号")) \
        == "山东省枣庄市薛城区民西路228号"


def test_an_office_is_snapped_to_the_table_only_where_the_recognizer_doubted() -> None:
    office = "五大连治市公安局"
    assert mend_office(office, _read(office, {3: [("活", 0.07)]})) == office  # 治 at 0.93: read, not doubted
    assert mend_office(office, _read(office, {3: [("活", 0.5), ("路", 0.32)]})) == "五大连池市公安局"
    # a city and a county under it; 湛 read again there, / doubted
    read = _read("签发机关湛江市吴川市公安局", {7: [("州", 0.6)]})
    assert mend_office("浦江市吴/市公安局", read) == "湛江市吴川市公安局"
    # of the cities 大?市 only 大庆 has a 红岗区: the branch settles the place
    office = "大庄市公安局红周分局"
    doubts = {1: [("注", 0.6)], 7: [("间", 0.55)]}
    assert mend_office(office, _read(office, doubts)) == "大庆市公安局红岗分局"
    assert mend_office("大庄市公安局", _read("大庄市公安局", {1: [("注", 0.6)]})) == "大庄市公安局"  # 大连 大同 ...
    # more than one character in four of a name: as read
    office = "科尔泌右翼航康公安局"
    assert mend_office(office, _read(office, {2: [("必", 0.8)], 5: [("前", 0.7)], 6: [("操", 0.6)]})) == office
    # a renamed district stays even where doubted, when no district of its city is that near
    office = "邢台市公安局桥西分局"
    assert mend_office(office, _read(office, {6: [("侨", 0.6)]})) == office
