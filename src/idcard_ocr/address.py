"""An address's administrative names checked against the area table (data/areas.json).

An address begins with its province, city and county as the state names them (云南省红河哈尼族彝族自治州
泸西县...). A character the recognizer got wrong there (舞族 for 彝族, 共冈山 for 井冈山) is put right when
exactly one name of that level, under the level above, is that close: same length, at most one character in
four different (or one in a three-character name whose 市/区/县 was read). Whatever follows the county is left
as read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from .idnumber import _areas

Level = dict[str, list[tuple[str, str]]]  # parent code -> (code, name) of its children
Alternates = list[tuple[str, list[tuple[str, float]]]]  # a line's characters, each with its readings there


@lru_cache(maxsize=1)
def _tree() -> tuple[list[tuple[str, str]], Level, Level]:
    """(provinces as (code, name)), cities by province code, counties by city (or province) code."""
    provinces: list[tuple[str, str]] = []
    cities: Level = {}
    counties: Level = {}
    for code, (name, _) in sorted(_areas().items()):
        if code.endswith("0000"):
            provinces.append((code, name))
        elif code.endswith("00"):
            if name not in ("市辖区", "县", "市") and "直辖" not in name:  # placeholders of a level not printed
                cities.setdefault(code[:2] + "0000", []).append((code, name))
        else:
            counties.setdefault(code[:4] + "00", []).append((code, name))
            counties.setdefault(code[:2] + "0000", []).append((code, name))  # municipalities, 省直辖 counties
    return provinces, cities, counties


def _wrong(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def _allowed(name: str, last: str) -> int:
    """Characters a read may get wrong in ``name``: one in four; one in a three-character name too (峰城区 for
    峄城区) when its level's last character (省 市 区 县 旗) was read right."""
    return 1 if len(name) == 3 and last == name[-1] else len(name) // 4


def _snap(text: str, at: int, names: list[tuple[str, str]], area: str = "",
          read: Callable[[], Alternates] | None = None) -> tuple[str, str] | None:
    """The one (code, name) whose name text[at:] begins with, exactly or within one character in four.

    Of two names equally near (峰城区: 峄城区 and 薛城区), the one the recognizer also read there (read: its
    characters with their alternatives, Engine.read_alternates), else the one whose code the holder's ID number
    carries (area: most holders live where their number was given)."""
    exact = [cn for cn in names if text.startswith(cn[1], at)]
    if exact:
        return max(exact, key=lambda cn: len(cn[1]))
    near: dict[str, tuple[str, str]] = {}  # by name: one name under two codes is still one name
    for code, name in names:
        n = len(name)
        if n >= 3 and len(text) - at >= n and _wrong(text[at:at + n], name) <= _allowed(name, text[at + n - 1]):
            near.setdefault(name, (code, name))
    if len(near) > 1 and read is not None:
        near = {n: cn for n, cn in near.items() if _seen(n, text[at:at + len(n)], read())} or near
    if len(near) > 1 and area:
        near = {n: cn for n, cn in near.items() if area[:_level(cn[0])] == cn[0][:_level(cn[0])]}
    return next(iter(near.values())) if len(near) == 1 else None


def _seen(name: str, text: str, read: Alternates) -> bool:
    """The recognizer also read `name` where it read `text` (as long): each character that differs was among
    its readings there."""
    at = _where(text, read)
    return at >= 0 and all(a == b or also_read(a, read[at + j][1])
                           for j, (a, b) in enumerate(zip(name, text)))


def _where(text: str, read: Alternates) -> int:
    """Where `text` starts in what the recognizer read (-1: not there)."""
    return "".join(ch for ch, _ in read).find(text)


def _level(code: str) -> int:
    """The digits of an area code that name it: 2 for a province, 4 for a city, 6 for a county."""
    return 2 if code.endswith("0000") else 4 if code.endswith("00") else 6


def correct(address: str, area: str = "", read: Callable[[], Alternates] | None = None) -> str:
    """The address with its province, city and county names as the area table spells them (to break a tie
    between two names equally near: read, the recognizer's alternatives; area, the ID number's first six
    digits).

    An address begins with its province: one or two characters before a province's whole name are the 住址
    label read as something else (三北河北省...), merged into the line where the label column is faint."""
    provinces, cities, counties = _tree()
    prov = _snap(address, 0, provinces, area, read)
    if prov is None:
        lead = next((i for i in range(1, 3) for _, name in provinces if address.startswith(name, i)), 0)
        if not lead:
            return address
        address = address[lead:]
        prov = _snap(address, 0, provinces, area, read)
        if prov is None:
            return address
    out, at, parent = prov[1], len(prov[1]), prov[0]
    if (city := _snap(address, at, cities.get(parent, []), area, read)) is not None:
        out, at, parent = out + city[1], at + len(city[1]), city[0]
    if (county := _snap(address, at, counties.get(parent, []), area, read)) is not None:
        out, at = out + county[1], at + len(county[1])
    return out + address[at:]


@lru_cache(maxsize=1)
def _place_names() -> frozenset[str]:
    """Every city and county name in the table (an authority begins with one: 个旧市公安局)."""
    _, cities, counties = _tree()
    return frozenset(n for level in (cities, counties) for names in level.values() for _, n in names)


_LABEL_TAIL = "签发机关"


def drop_label_tail(authority: str) -> str:
    """The authority without the end of its 签发机关 label boxed with it ("关个旧市公安局"): one or two leading
    characters of the label dropped only when what follows begins with a city or county name and the whole
    does not (关岭布依族苗族自治县 stays)."""
    names = _place_names()

    def named(t: str) -> bool:
        return any(t[:n] in names for n in range(2, min(len(t), 12) + 1))

    if named(authority):
        return authority
    for k in (1, 2):
        if len(authority) > k and all(ch in _LABEL_TAIL for ch in authority[:k]) and named(authority[k:]):
            return authority[k:]
    return authority


_OFFICE = re.compile(r"(?P<place>.+?)公安局(?:(?P<branch>.+?)分局)?")
ALTERNATE_MIN = 0.05  # a reading the recognizer gave at least this probability at a place: a look-alike of what it read


def also_read(ch: str, options: list[tuple[str, float]]) -> bool:
    """`ch` is among the recognizer's readings at a place (options), with at least ALTERNATE_MIN."""
    return any(alt == ch and p >= ALTERNATE_MIN for alt, p in options)


def office_known(office: str) -> bool | None:
    """Whether the area table knows the office's names: the place before 公安局 (a province-level city, a city
    or a county), and a branch's district under it (东城分局: 东城区). None when the text is no such office."""
    m = _OFFICE.fullmatch(office)
    if m is None:
        return None
    provinces, cities, counties = _tree()
    place, branch = m["place"], m["branch"]
    codes = [c for level in ([provinces], cities.values(), counties.values()) for names in level
             for c, n in names if n == place]
    if not codes:
        return False
    if branch is None:
        return True
    return any(n == branch or (len(n) > 2 and n[:-1] == branch) for c in codes for _, n in counties.get(c, []))


def mend_office(office: str, read: Alternates) -> str:
    """The office with look-alikes put right, when the table does not know a name in it. First one character
    the recognizer also read there (埇 beside 埔, probability >= 5 %) that makes every name known
    (宿州市公安局埔桥分局 -> 埇桥); else the one office the table knows that differs from the read only where
    the recognizer doubted (_snap_office). `read`: the recognizer's characters of a line holding the office,
    with their alternatives (Engine.read_alternates). A name the recognizer never doubted stays as read:
    offices keep a renamed district's old name (邢台市公安局桥西分局, now 信都区)."""
    if office_known(office) is not False:
        return office
    at = _where(office, read)
    if at >= 0:
        mended = {office[:i] + alt + office[i + 1:]
                  for i, (ch, alts) in enumerate(read[at:at + len(office)])
                  for alt, p in alts if alt != ch and p >= ALTERNATE_MIN}
        known = [m for m in mended if office_known(m)]
        if len(known) == 1:
            return known[0]
    return _snap_office(office, _doubts(office, read)) or office


def _doubts(text: str, read: Alternates) -> list[bool]:
    """Which characters of `text` the recognizer did not know where it read the line again (`read`, aligned
    at the offset where most characters agree): read otherwise there, or read so with less than even odds.
    None doubted when no offset agrees on half of them (two reads of other text)."""
    chars = [ch for ch, _ in read]
    n = len(text)
    best = max(range(max(1, len(chars) - n + 1)),
               key=lambda a: sum(x == y for x, y in zip(text, chars[a:a + n])))
    window = read[best:best + n]
    if 2 * sum(x == ch for x, (ch, _) in zip(text, window)) < n:
        return [False] * n
    return [not (j < len(window) and window[j][0] == x and window[j][1][0][1] >= DOUBT) for j, x in enumerate(text)]


DOUBT = 0.5  # less than even odds for the recognizer's own reading at a place: it did not know the character


def _snap_office(office: str, doubtful: list[bool]) -> str | None:
    """The one office the table knows that differs from the read only in characters the recognizer doubted
    (`doubtful`, one per character of `office`), at most one in four of each name: its place one city or
    county name (五大连治市 -> 五大连池市) or a city and a county under it (浦江市吴/市 -> 湛江市吴川市), its branch
    a district under that place (大庄市公安局红周分局 -> 大庆市公安局红岗分局: of the cities 大?市, only 大庆
    has a 红岗区). None when no office or several fit."""
    m = _OFFICE.fullmatch(office)
    if m is None:
        return None
    provinces, cities, counties = _tree()
    place, branch = m["place"], m["branch"]

    def near(at: int, text: str, names: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(c, n) for c, n in names if len(n) == len(text) and _wrong(text, n) <= max(1, len(n) // 4)
                and all(a == b or doubtful[at + j] for j, (a, b) in enumerate(zip(text, n)))]

    flat = [cn for level in ([provinces], cities.values(), counties.values()) for names in level for cn in names]
    places = near(0, place, flat)
    for cut in range(2, len(place) - 1):  # a city, then a county under it
        for c, city in near(0, place[:cut], [cn for names in cities.values() for cn in names]):
            places += [(cc, city + county) for cc, county in near(cut, place[cut:], counties.get(c, []))]
    if branch is None:
        found = {f"{name}公安局" for _, name in places}
    else:
        at = len(place) + 3
        found = {f"{name}公安局{f}分局" for code, name in places for _, f in near(at, branch, [
            ("", f) for _, n in counties.get(code, [])  # 东城区: 东城分局; 城区: 城区分局
            for f in ((n[:-1], n) if len(n) > 2 and n.endswith("区") else (n,))])}
    return found.pop() if len(found) == 1 else None
