"""An address's administrative names checked against the area table (data/areas.json).

An address begins with its province, city and county as the state names them (云南省红河哈尼族彝族自治州
泸西县...). A character the recognizer got wrong there (舞族 for 彝族, 共冈山 for 井冈山) is put right when
exactly one name of that level, under the level above, is that close: same length, at most one character in
four different. Whatever follows the county is left as read.
"""

from __future__ import annotations

from functools import lru_cache

from .idnumber import _areas

Level = dict[str, list[str]]  # parent code -> names of its children, e.g. "530000" -> ["昆明市", ...]


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
                cities.setdefault(code[:2] + "0000", []).append(name)
        else:
            counties.setdefault(code[:4] + "00", []).append(name)
            counties.setdefault(code[:2] + "0000", []).append(name)  # municipalities, 省直辖 counties
    return provinces, cities, counties


def _wrong(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def _snap(text: str, at: int, names: list[str]) -> str | None:
    """The one name that text[at:] begins with, exactly or within one character in four; else None."""
    exact = [n for n in names if text.startswith(n, at)]
    if exact:
        return max(exact, key=len)
    near = {n for n in names if len(n) >= 3 and len(text) - at >= len(n)
            and _wrong(text[at:at + len(n)], n) <= len(n) // 4}
    return near.pop() if len(near) == 1 else None


def correct(address: str) -> str:
    """The address with its province, city and county names as the area table spells them."""
    provinces, cities, counties = _tree()
    prov = _snap(address, 0, [n for _, n in provinces])
    if prov is None:
        return address
    code = next(c for c, n in provinces if n == prov)
    out, at = prov, len(prov)
    city = _snap(address, at, cities.get(code, []))
    parent = code
    if city is not None:
        out, at = out + city, at + len(city)
        parent = next((c for c, (n, _) in _areas().items() if n == city and c.startswith(code[:2])
                       and c.endswith("00") and not c.endswith("0000")), code)
    county = _snap(address, at, counties.get(parent, []))
    if county is not None:
        out, at = out + county, at + len(county)
    return out + address[at:]
