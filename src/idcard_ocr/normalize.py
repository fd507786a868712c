"""Pure text clean-up applied to OCR output of card fields: labels, nation, sex, dates, address, term rule."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

__all__ = [
    "LABELS",
    "LONG_TERM",
    "NATIONS",
    "join_address",
    "normalize_sex",
    "parse_birth",
    "parse_date",
    "parse_validity",
    "snap_nation",
    "strip_label",
    "term_years",
    "validity_term_ok",
]

# The 56 nations as printed on the card (without 族), in the official order.
NATIONS: tuple[str, ...] = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
_NATION_SET = frozenset(NATIONS)

LABELS: tuple[str, ...] = ("公民身份号码", "签发机关", "有效期限", "姓名", "性别", "民族", "出生", "住址")
LONG_TERM = "长期"
SPECKS = ".,:;'`\"·。，、-_~|"  # marks the recognizer reads at a value's ends (dust, dots, dashes)

# Traditional/variant forms an OCR dictionary may prefer over the simplified ones printed on the card.
_NATION_VARIANTS = str.maketrans({
    "漢": "汉", "維": "维", "爾": "尔", "鮮": "鲜", "滿": "满", "納": "纳", "頗": "颇", "達": "达",
    "錫": "锡", "烏": "乌", "別": "别", "羅": "罗", "溫": "温", "東": "东", "鄉": "乡", "獨": "独",
    "龍": "龙", "倫": "伦", "門": "门", "諾": "诺", "畬": "畲", "彜": "彝", "傜": "瑶", "薩": "萨",
})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Characters OCR returns for digits inside a date line (labels and 年月日 are CJK, so this is safe there).
_DATE_DIGITS = str.maketrans({
    "O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0",
    "I": "1", "l": "1", "|": "1", "i": "1", "L": "1", "!": "1",
    "Z": "2", "z": "2",
    "S": "5", "s": "5",
    "G": "6", "b": "6",
    "B": "8",
    "g": "9", "q": "9",
})
_DASHES = re.compile(r"[-‐‑‒–—―−一~〜～_至]")
_WS = re.compile(r"\s+")

MIN_YEAR = 1880
MAX_YEAR = 2200


# --------------------------------------------------------------------------- labels


@cache
def _t2s() -> object:
    import opencc  # a dictionary load (~15 ms): once, when first needed

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """The text in simplified characters (賈 -> 贾), as resident ID cards print it; others unchanged."""
    return _t2s().convert(text)  # type: ignore[attr-defined, no-any-return]


def strip_label(text: str, labels: Iterable[str] = LABELS) -> str:
    """Remove printed labels OCR merged at the start of a value ("姓名张三" -> "张三").

    Labels may be spaced out ("姓 名") and followed by a colon. Only leading labels are removed, so a
    value that merely contains a label's characters later on is left alone.
    """
    patterns = [
        re.compile(r"^\s*" + r"\s*".join(map(re.escape, label)) + r"\s*[:：]?\s*")
        for label in sorted(set(labels), key=len, reverse=True)
        if label
    ]
    s = text
    changed = True
    while changed:  # "姓名 姓名张三" and the like
        changed = False
        for p in patterns:
            m = p.match(s)
            if m and m.end():
                s = s[m.end():]
                changed = True
    return s.strip()


# --------------------------------------------------------------------------- nation and sex


# Minority names join their parts with U+00B7; recognizers return look-alike dots.
_NAME_DOTS = str.maketrans({c: "·" for c in "・•･‧⋅∙.。°"})


_SPECK_BETWEEN_DIGITS = re.compile(r"(?<=\d)[.,·'`:;。、](?=\d)")


def drop_specks(text: str) -> str:
    """Dots the recognizer reads between digits (toner, dust): "2021.02059" -> "202102059".

    Only single marks between two digits go, so a date's "2010.01.06" would lose its dots too: call this
    where a run of digits is wanted (the number), not on dates.
    """
    return _SPECK_BETWEEN_DIGITS.sub("", text)


def normalize_name(text: str) -> str:
    """A name as printed: no spaces, the parts of a minority name joined with U+00B7 (·)."""
    name = "".join(text.split()).translate(_NAME_DOTS)
    # printed names are Chinese characters (and ·): Latin letters or digits here are noise (moire, dirt)
    name = "".join(ch for ch in name if ch == "·" or "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f")
    return name.strip("·")


def _lcs(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def snap_nation(text: str) -> tuple[str, float] | None:
    """Snap an OCR'd nation to one of the 56 names: (name, score) or None when nothing is close.

    Exact matches win outright (so 土 stays 土 and 土家 stays 土家). Otherwise the score is the Dice
    coefficient of the longest common subsequence, and a best match must reach 0.5 and be unique:
    "布" could be 布依 or 布朗 and gives None rather than a guess.
    """
    s = unicodedata.normalize("NFKC", text)
    s = strip_label(_WS.sub("", s), ("民族",))
    s = "".join(_CJK.findall(s)).replace("族", "").replace("民", "")  # no nation name uses 族 or 民
    if not s:
        return None
    if s in _NATION_SET:
        return s, 1.0
    v = s.translate(_NATION_VARIANTS)
    if v in _NATION_SET:
        return v, 0.95
    scored = sorted(
        ((2 * lcs / (len(v) + len(n)), n) for n in NATIONS if (lcs := _lcs(v, n))), reverse=True
    )
    if not scored or scored[0][0] < 0.5:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # ambiguous
    return scored[0][1], round(scored[0][0], 3)


# The authority always ends in 局 (公安局, 分局); these are the glyphs a blurred 局 is read as.
_JU_LOOKALIKES = "属扃周尚居届屆同向司咼角易"


def normalize_authority(text: str) -> str:
    """The issuing office as read, its end marks off and a last 局 misread as a look-alike put right, and
    the 局 of 公安局 before a branch (深圳市公安易盐田分局: only 公安县 has anything else after 公安) and its 安
    (公室局)."""
    t = text.strip(SPECKS)
    if len(t) > 3 and t[-1] in _JU_LOOKALIKES and t[-2] in "安分":
        t = t[:-1] + "局"
    if t.endswith("分局"):
        t = _GONGAN_JU.sub("公安局", t)
    return _GONG_X_JU.sub("公安局", t)


_GONGAN_JU = re.compile("公安[^局县](?=.+分局$)")
_GONG_X_JU = re.compile("公[^安]局")  # 公室局: no place name holds 局, so 公?局 is 公安局


def normalize_sex(text: str) -> str | None:
    """男 or 女 from the sex value, tolerating the 性别 label and noise; None if absent or both."""
    s = strip_label(_WS.sub("", unicodedata.normalize("NFKC", text)), ("性别",))
    found = {ch for ch in s if ch in "男女"}
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- dates


def _date_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DATE_DIGITS)


def _make_date(y: int, m: int, d: int) -> dt.date | None:
    if not MIN_YEAR <= y <= MAX_YEAR:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _date_of_groups(groups: list[str]) -> dt.date | None:
    """Digit groups of one date: "1978","3","7" (printed 年月日 style) or 8 digits however split."""
    if len(groups) == 3 and len(groups[0]) == 4 and all(1 <= len(g) <= 2 for g in groups[1:]):
        d = _make_date(int(groups[0]), int(groups[1]), int(groups[2]))
        if d:
            return d
    joined = "".join(groups)
    if len(joined) == 8:
        return _make_date(int(joined[:4]), int(joined[4:6]), int(joined[6:]))
    return None


def _parse(text: str) -> dt.date | None:
    return _date_of_groups(re.findall(r"\d+", _date_text(text)))


def parse_date(text: str) -> str | None:
    """YYYY-MM-DD from 8 digits with any separators ("2004.10.27", "2004 1027", "2004年10月27日"),
    or year/month/day groups without zero padding ("1978年3月7日"). None if not a real date."""
    d = _parse(text)
    return d.isoformat() if d else None


def parse_birth(text: str) -> str | None:
    """YYYY-MM-DD from the printed birth line (label 出生 allowed); None unless a real, past date."""
    d = _parse(strip_label(text, ("出生",)))
    if d is None or d > dt.date.today():
        return None
    return d.isoformat()


def parse_validity(text: str) -> tuple[str | None, str | None]:
    """(valid_from, valid_to) from "2004.10.27-2024.10.26" or "2004.10.27-长期" and OCR variants.

    valid_to is "YYYY-MM-DD" or "长期"; either is None when it cannot be read.
    """
    s = _WS.sub("", _date_text(text))
    s = re.sub("有效期限|有效期|效期限|期限|有效", "", s)  # the label, whole or in part
    first = re.search(r"\d", s)
    s = s[first.start():] if first else s  # whatever precedes the first date is the label, misread or not
    got = _validity(s)
    if not all(got) and re.match(r"\d{5}\D", s):
        # A five-digit year: a mark before it read as a digit (a faint label's stroke as i, l or |, then 1)
        again = _validity(s[1:])
        if sum(map(bool, again)) > sum(map(bool, got)):
            return again
    return got


def _validity(s: str) -> tuple[str | None, str | None]:
    m = re.search(r"[长長]|(?<=[\d\-‐‑‒–—―−一~〜～_至])期", s)  # 长期; 期 alone only where 长 was lost after the dash
    if m:
        frm = _date_of_groups(re.findall(r"\d+", s[: m.start()]))
        return (frm.isoformat() if frm else None), LONG_TERM
    groups = re.findall(r"\d+", s)
    joined = "".join(groups)
    if len(joined) == 16:  # dots and dash lost or not
        a, b = _date_of_groups([joined[:8]]), _date_of_groups([joined[8:]])
        if a and b:
            return a.isoformat(), b.isoformat()
    if len(joined) == 17:  # the dash read as a digit (1, 一 -> 1) between the two dates
        a, b = _date_of_groups([joined[:8]]), _date_of_groups([joined[9:]])
        if a and b:
            return a.isoformat(), b.isoformat()
    for k in range(1, len(groups)):  # unpadded groups: find where the first date ends
        a, b = _date_of_groups(groups[:k]), _date_of_groups(groups[k:])
        if a and b:
            return a.isoformat(), b.isoformat()
    parts = _DASHES.split(s)
    if len(parts) == 2:  # one side unreadable: keep the other
        a, b = _parse(parts[0]), _parse(parts[1])
        return (a.isoformat() if a else None), (b.isoformat() if b else None)
    a = _date_of_groups(groups)
    return (a.isoformat() if a else None), None


# --------------------------------------------------------------------------- address


_INNER_SPECKS = re.compile("(?<=[\u4e00-\u9fff])[.·。,，、:;'`\"_~|]+(?=[\u4e00-\u9fff])")


def join_address(lines: list[str]) -> str:
    """Join the address lines in reading order, without spaces, a leading 住址 label or specks between two
    characters (dust read as 。 or · inside a street's name: an address prints no punctuation there)."""
    parts = [_WS.sub("", line) for line in lines]
    parts = [p for p in parts if p]
    if parts:
        parts[0] = strip_label(parts[0], ("住址",))
    return _INNER_SPECKS.sub("", "".join(parts))


# --------------------------------------------------------------------------- validity term (§5)

# Cards are issued up to 60 days after the application (90 where travel is hard), while the term follows
# the age at application: near a 16th/26th/46th birthday either term is genuine.
ISSUE_GRACE_DAYS = 90


def term_years(age_at_issue: int) -> int | None:
    """Validity term in years for an age at issue (居民身份证法 §5); None means 长期 (46 and over)."""
    if age_at_issue < 0:
        raise ValueError("age must not be negative")
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _term_ends(start: dt.date, years: int) -> set[dt.date]:
    """Dates a card valid `years` from `start` may print: the same calendar day, or the day before."""
    y = start.year + years
    try:
        ends = {dt.date(y, start.month, start.day)}
    except ValueError:  # 29 Feb into a common year: either neighbour
        ends = {dt.date(y, 2, 28), dt.date(y, 3, 1)}
    return ends | {d - dt.timedelta(days=1) for d in ends}


def _as_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return _parse(value) if isinstance(value, str) else None


def validity_term_ok(
    birth: str | None,
    valid_from: str | None,
    valid_to: str | None,
    *,
    grace_days: int = ISSUE_GRACE_DAYS,
) -> bool | None:
    """Whether valid_to fits the §5 age rule for a card issued on valid_from; None if an input is
    missing or unparseable. Ages within `grace_days` before valid_from are accepted as the age at
    application. Temporary cards (three months) are not covered by this rule."""
    if not birth or not valid_from or not valid_to:
        return None
    b, start = _as_date(birth), _as_date(valid_from)
    if b is None or start is None:
        return None
    long_term = LONG_TERM in valid_to or "長期" in valid_to
    end = None if long_term else _as_date(valid_to)
    if not long_term and end is None:
        return None
    if start < b:
        return False
    oldest = _age_on(b, start)
    youngest = _age_on(b, max(b, start - dt.timedelta(days=max(grace_days, 1))))
    terms = {term_years(a) for a in range(youngest, oldest + 1)}
    if long_term:
        return None in terms
    return any(end in _term_ends(start, n) for n in terms if n is not None)
