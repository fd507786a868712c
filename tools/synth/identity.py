"""Synthetic identities: names, numbers, addresses and validity that obey the card's rules.

Every person here is made up from a random.Random; nothing refers to a real individual.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from functools import lru_cache

from idcard_ocr.idnumber import area_codes, check_char, lookup_area

# A fixed "today" so that the same seed gives the same card whatever day the tests run.
REF_DATE = dt.date(2026, 1, 1)
# Second-generation cards were first issued in 2004.
FIRST_ISSUE = dt.date(2004, 1, 1)
LONG_TERM = "长期"
# An address line holds about 11 full-width characters; ASCII digits/letters count as half.
ADDRESS_LINE_UNITS = 11.0

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "夏侯")
RARE_SURNAMES = "禤亓仉冼佘訾郗昝逄麴"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉鹏飞宇浩然子轩梓涵欣怡雨博思佳晨阳嘉俊志"
    "国海林春梅兰凤云亮成斌瑞琪婷雪慧晓颖倩鑫淑德永福庆荣贵家宏东新利生义金兴振立彬坤晶诗彤悦妍琳睿泽航宁安"
    "楠卫红光伦正清月丹凯莉燕波健翔雅璐蕾薇菲茜奕铭锦"
)
# Characters that OCR engines and fonts tend to miss (all exist in the PP-OCR dictionary).
RARE_GIVEN = "仫埇瀍隰鄠蒗昊珅燊赟喆垚犇淼堃玥婳彧翀昇韡璟旻暐琇祎炜瑀甦劼瑢"

# Transliterated names written with the middle dot (given name · father's name).
DOT_NAMES = (
    "阿卜杜拉", "买买提", "艾力", "艾合买提", "热依拉", "古丽娜尔", "阿依古丽", "努尔", "迪丽拜尔", "帕提古丽",
    "阿不都热西提", "吐尔逊", "依明", "麦麦提", "热合曼", "玉素甫", "米吉提", "帕尔哈提", "艾尔肯", "阿迪力",
    "祖丽菲亚", "沙吾提", "穆罕默德", "买合木提", "努尔买买提", "叶尔兰", "努尔兰", "阿依达娜", "哈力木拉提",
    "达吾列提", "加娜尔", "巴合提亚尔", "阿不来提", "吾斯曼", "伊力哈木", "库尔班", "米合日古丽",
)
TIBETAN = ("扎西", "次仁", "顿珠", "卓玛", "格桑", "央金", "拉姆", "平措", "达瓦", "尼玛", "多吉", "旺堆",
           "普布", "索朗", "德吉", "白玛", "罗布", "曲珍")
MONGOLIAN = ("巴特尔", "乌云", "其木格", "额尔敦", "苏日娜", "宝音", "图雅", "那仁", "朝鲁", "斯琴", "高娃",
             "阿拉坦", "乌兰", "哈斯", "孟和", "萨仁")

NATIONS: tuple[str, ...] = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
    "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
# Rough population weights among minorities, with a floor so that every nation turns up.
_MINORITY_WEIGHT = {"壮": 19, "回": 11, "满": 10, "维吾尔": 11, "苗": 9, "彝": 9, "土家": 9, "藏": 7, "蒙古": 6,
                    "侗": 3, "布依": 3, "瑶": 3, "白": 2, "朝鲜": 2, "哈尼": 2, "黎": 1.6, "哈萨克": 1.5, "傣": 1.3}
_DOT_NATIONS = {"维吾尔", "哈萨克", "柯尔克孜", "乌孜别克", "塔吉克", "塔塔尔"}
_NATION_PROVINCE = {"维吾尔": "65", "哈萨克": "65", "柯尔克孜": "65", "乌孜别克": "65", "塔吉克": "65",
                    "塔塔尔": "65", "藏": "54", "蒙古": "15", "壮": "45", "回": "64", "朝鲜": "22", "彝": "53"}
# Areas whose names carry rare characters (埇桥区, 瀍河回族区, 隰县, 鄠邑区, 宁蒗, 罗城仫佬族自治县).
RARE_AREAS = ("341302", "410304", "141031", "610118", "530724", "451225")

_PLACE = ("东西南北新安和平兴隆福寿永宁长青河山庄桥湾塘岭坪溪沟坝湖石林阳光明华盛丰泰康乐富民建胜利团结红旗星合"
          "大小上中前后李王张刘马杨陈家营铺集")
_ROAD_SUFFIX = ("路", "路", "街", "大道", "巷", "大街")


@dataclass(frozen=True)
class Identity:
    name: str
    sex: str  # 男 / 女
    nation: str  # without 族
    birth: dt.date
    address: str  # joined, no spaces
    number: str  # 18 characters, valid check character
    authority: str
    valid_from: dt.date
    valid_to: dt.date | str  # a date, or "长期"

    def front_fields(self) -> dict[str, str]:
        return {"name": self.name, "sex": self.sex, "nation": self.nation, "birth": self.birth.isoformat(),
                "address": self.address, "number": self.number}

    def back_fields(self) -> dict[str, str]:
        to = self.valid_to if isinstance(self.valid_to, str) else self.valid_to.isoformat()
        return {"authority": self.authority, "valid_from": self.valid_from.isoformat(), "valid_to": to}

    def validity_text(self) -> str:
        """As printed: YYYY.MM.DD-YYYY.MM.DD or YYYY.MM.DD-长期."""
        to = self.valid_to if isinstance(self.valid_to, str) else self.valid_to.strftime("%Y.%m.%d")
        return f"{self.valid_from.strftime('%Y.%m.%d')}-{to}"

    def address_lines(self) -> list[str]:
        return wrap_address(self.address)


def char_units(ch: str) -> float:
    """Width of a character in full-width units (ASCII prints half-width on the card)."""
    return 0.5 if ord(ch) < 128 else 1.0


def wrap_address(address: str, units: float = ADDRESS_LINE_UNITS) -> list[str]:
    """Greedy wrap as the card printer does: fill a line up to ~11 full-width characters."""
    lines: list[str] = []
    cur, used = "", 0.0
    for ch in address:
        w = char_units(ch)
        if cur and used + w > units:
            lines.append(cur)
            cur, used = "", 0.0
        cur += ch
        used += w
    if cur:
        lines.append(cur)
    return lines


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validity_term(birth: dt.date, issue: dt.date) -> int | None:
    """Years of validity by age at issue (居民身份证法 §5); None means 长期."""
    age = age_on(birth, issue)
    if age < 16:
        return 5
    if age <= 25:
        return 10
    if age <= 45:
        return 20
    return None


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


@lru_cache(maxsize=1)
def _codes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Current and historical district codes whose names are usable in an address."""
    def usable(code: str) -> bool:
        a = lookup_area(code)
        return bool(a and a.province and a.district and a.district not in ("市辖区", "县", "郊区"))

    current = tuple(c for c in area_codes() if usable(c))
    cur_set = set(current)
    hist = tuple(c for c in area_codes(include_historical=True) if c not in cur_set and usable(c))
    return current, hist


def _rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def _pick_nation(rng: random.Random) -> str:
    if rng.random() >= 0.30:
        return "汉"
    minorities = [n for n in NATIONS if n != "汉"]
    weights = [max(_MINORITY_WEIGHT.get(n, 0.0), 0.6) for n in minorities]
    return rng.choices(minorities, weights)[0]


def _pick_name(rng: random.Random, nation: str) -> str:
    if nation in _DOT_NATIONS and rng.random() < 0.8:
        a, b = rng.sample(DOT_NAMES, 2)
        name = f"{a}·{b}"
        while len(name) > 12:  # the longest names still fit one line after shrinking
            a, b = rng.sample(DOT_NAMES, 2)
            name = f"{a}·{b}"
        return name
    if nation == "藏" and rng.random() < 0.7:
        a, b = rng.sample(TIBETAN, 2)
        return a + b
    if nation == "蒙古" and rng.random() < 0.5:
        parts = rng.sample(MONGOLIAN, rng.choice((1, 2)))
        return "".join(parts)[:5] if len(parts) > 1 else parts[0]
    rare = rng.random() < 0.15
    if rare and rng.random() < 0.25:
        surname = rng.choice(RARE_SURNAMES)
        rare = False  # one rare character is enough
    elif rng.random() < 0.03:
        surname = rng.choice(COMPOUND_SURNAMES)
    else:
        surname = rng.choice(SURNAMES)
    n_given = rng.choices((1, 2, 3), (0.28, 0.68, 0.04))[0]
    if len(surname) == 2:
        n_given = min(n_given, 2)
    given = [rng.choice(GIVEN) for _ in range(n_given)]
    if rare:
        given[rng.randrange(n_given)] = rng.choice(RARE_GIVEN)
    return surname + "".join(given)


def _place(rng: random.Random) -> str:
    return "".join(rng.sample(_PLACE, 2))


def _address_tail(rng: random.Random, rural: bool) -> str:
    if rural:
        town = _place(rng) + rng.choice(("镇", "镇", "乡", "街道"))
        village = _place(rng) + rng.choice(("村", "村", "社区"))
        form = rng.randrange(4)
        if form == 2:
            village = _place(rng) + "村"
        if form == 0:
            return f"{town}{village}{rng.randint(1, 80)}号"
        if form == 1:
            return f"{town}{village}{rng.randint(1, 15)}组{rng.randint(1, 99)}号"
        if form == 2:
            return f"{town}{village}委会{_place(rng)}村{rng.randint(1, 200)}号"
        return f"{town}{village}{rng.choice('一二三四五六七八')}组"
    road = _place(rng) + rng.choice(_ROAD_SUFFIX)
    form = rng.randrange(5)
    if form == 0:
        return f"{road}{rng.randint(1, 300)}号"
    if form == 1:
        room = f"{rng.randint(1, 32)}0{rng.randint(1, 4)}"
        return f"{road}{rng.randint(1, 300)}号{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{room}室"
    if form == 2:
        estate = f"{_place(rng)}街道{_place(rng)}小区"
        return f"{estate}{rng.randint(1, 40)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 2604)}号"
    if form == 3:
        return f"{road}{rng.randint(1, 200)}号院{rng.randint(1, 20)}号楼{rng.randint(101, 1806)}号"
    return f"{road}{rng.randint(1, 99)}弄{rng.randint(1, 60)}号{rng.randint(101, 605)}室"


def _address_prefix(code: str) -> str:
    a = lookup_area(code)
    assert a is not None and a.province and a.district
    city = a.city if a.city and "直辖" not in a.city else ""
    if city == a.province:  # municipalities: 北京市东城区
        city = ""
    return a.province + city + a.district


def _make_address(rng: random.Random, code: str) -> str:
    prefix = _address_prefix(code)
    lines_wanted = rng.choices((2, 3), (0.70, 0.30))[0]
    # A very short last line (1-3 characters) is where readers drop text: make it common.
    short_last = rng.random() < (0.45 if lines_wanted == 3 else 0.12)
    rural = rng.random() < 0.5 or prefix.endswith(("县", "旗"))
    any_fit = right_count = ""
    for _ in range(300):
        addr = prefix + _address_tail(rng, rural)
        lines = wrap_address(addr)
        if len(lines) > 3:
            continue
        any_fit = any_fit or addr
        if len(lines) == lines_wanted:
            if (len(lines[-1]) <= 3) == short_last:
                return addr
            right_count = right_count or addr
    return right_count or any_fit or prefix


def _authority(code: str, rng: random.Random) -> str:
    a = lookup_area(code)
    assert a is not None and a.district
    d = a.district
    city = a.city if a.city and "直辖" not in a.city else ""
    if d.endswith("区") and city:
        short = d[:-1]
        # 北京市公安局东城分局; one-syllable districts keep 区 (城区分局).
        if len(short) >= 2 and rng.random() < 0.85:
            return f"{city}公安局{short}分局"
        return f"{city}公安局{d}分局"
    if d.endswith("市") and city and rng.random() < 0.2:
        return f"{city}{d}公安局"
    return f"{d}公安局"


def _pick_birth(rng: random.Random) -> dt.date:
    band = rng.random()
    if band < 0.08:
        age = rng.randint(2, 15)
    elif band < 0.85:
        age = rng.randint(16, 59)
    else:
        age = rng.randint(60, 92)
    day = add_years(REF_DATE, -age) - dt.timedelta(days=rng.randint(1, 364))
    return day


def _pick_validity(rng: random.Random, birth: dt.date) -> tuple[dt.date, dt.date | str]:
    want_valid = rng.random() < 0.9
    earliest = max(FIRST_ISSUE, birth + dt.timedelta(days=60))
    sixteen = add_years(birth, 16)
    best: tuple[dt.date, dt.date | str] | None = None
    for _ in range(60):
        lo = max(earliest, sixteen) if sixteen < REF_DATE and rng.random() < 0.85 else earliest
        issue = _rand_date(rng, lo, REF_DATE - dt.timedelta(days=7))
        if issue.month == 2 and issue.day == 29:
            continue
        term = validity_term(birth, issue)
        to: dt.date | str = LONG_TERM if term is None else add_years(issue, term)
        best = best or (issue, to)
        if isinstance(to, str) or to >= REF_DATE:
            if want_valid:
                return issue, to
        elif not want_valid and add_years(to, 3) >= REF_DATE:  # expired, but recently
            return issue, to
    assert best is not None
    return best


def _make_number(rng: random.Random, code: str, birth: dt.date, sex: str) -> str:
    want_x = rng.random() < 0.10
    head = code + birth.strftime("%Y%m%d")
    start = rng.randrange(500)
    for k in range(500):
        # Walk the 3-digit sequences with the right parity from a random start.
        seq = (start + k) % 500 * 2 + (1 if sex == "男" else 0)
        first17 = head + f"{seq:03d}"
        c = check_char(first17)
        if (c == "X") == want_x:
            return first17 + c
    raise AssertionError("unreachable: every parity class has X and non-X sequences")


def random_identity(rng: random.Random) -> Identity:
    current, hist = _codes()
    nation = _pick_nation(rng)
    sex = rng.choice(("男", "女"))
    name = _pick_name(rng, nation)
    # Where the person lives: mostly any district, sometimes one with rare characters in its name,
    # minorities more often in their home provinces.
    prov = _NATION_PROVINCE.get(nation)
    if rng.random() < 0.05:
        home = rng.choice(RARE_AREAS)
    elif prov and rng.random() < 0.7:
        home = rng.choice([c for c in current if c.startswith(prov)])
    else:
        home = rng.choice(current)
    # The number's area is the place of first registration: usually home, sometimes elsewhere
    # or an abolished code (still valid on old cards).
    r = rng.random()
    if r < 0.08 and hist:
        same = [c for c in hist if c[:2] == home[:2]]
        birth_code = rng.choice(same or list(hist))
    elif r < 0.25:
        birth_code = rng.choice(current)
    else:
        birth_code = home
    birth = _pick_birth(rng)
    valid_from, valid_to = _pick_validity(rng, birth)
    return Identity(
        name=name, sex=sex, nation=nation, birth=birth,
        address=_make_address(rng, home),
        number=_make_number(rng, birth_code, birth, sex),
        authority=_authority(home, rng),
        valid_from=valid_from, valid_to=valid_to,
    )
