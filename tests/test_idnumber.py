"""idnumber: check character, area lookup, birth/sex, clean and the careful repair of OCR confusions."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from idcard_ocr.idnumber import (
    WEIGHTS,
    area_codes,
    birth_of,
    check_char,
    checksum_ok,
    clean,
    is_plausible,
    lookup_area,
    repair,
    sex_of,
)

CURRENT = area_codes()
HISTORICAL = sorted(set(area_codes(include_historical=True)) - set(CURRENT))


def make(area: str, birth: str, seq: str) -> str:
    """A synthetic number with the right check character (birth as YYYYMMDD)."""
    first17 = area + birth + seq
    return first17 + check_char(first17)


def _confusable_candidates(s: str) -> set[str]:
    """Every single-character OCR confusion of s, as repair() considers them (independent copy)."""
    from idcard_ocr.idnumber import _CONFUSABLE

    out = {s[:i] + alt + s[i + 1:] for i, ch in enumerate(s) for alt in _CONFUSABLE.get(ch, "")}
    if len(s) == 18 and s[17] == "8":
        out.add(s[:17] + "X")
    return out


numbers = st.builds(
    make,
    st.sampled_from(CURRENT),
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2015, 12, 31)).map(
        lambda d: d.strftime("%Y%m%d")
    ),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
)


# --------------------------------------------------------------------------- check character


def test_check_char_standard_examples() -> None:
    # The two examples printed in GB 11643-1999.
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"
    # By hand: 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167;
    # 167 mod 11 = 2, and position 2 of "10X98765432" is X.
    assert sum(int(c) * w for c, w in zip("11010519491231002", WEIGHTS, strict=True)) == 167


def test_check_char_each_remainder() -> None:
    # Seventeen zeros sum to 0 → "1"; a 1 in the last place (weight 2) sums to 2 → "X"; weight 7 → "5".
    assert check_char("0" * 17) == "1"
    assert check_char("0" * 16 + "1") == "X"
    assert check_char("1" + "0" * 16) == "5"
    assert check_char("0" * 8 + "1" + "0" * 8) == "6"  # weight 6 → sum 6 → "6"
    # Every remainder r: digit r at the place of weight 1 (index 7), or a 1 at weight 10 (index 2) for 10.
    for r, expected in enumerate("10X98765432"):
        first17 = "0" * 7 + str(r) + "0" * 9 if r < 10 else "001" + "0" * 14
        assert check_char(first17) == expected, r


def test_check_char_rejects_bad_input() -> None:
    for bad in ("", "1" * 16, "1" * 18, "1101051949123100X"):
        with pytest.raises(ValueError):
            check_char(bad)


@given(numbers)
def test_synthetic_numbers_are_valid(n: str) -> None:
    assert checksum_ok(n) and is_plausible(n)


@given(numbers, st.integers(0, 17), st.integers(1, 9))
def test_any_single_substitution_breaks_checksum(n: str, i: int, delta: int) -> None:
    if i == 17:
        alphabet = "0123456789X"
        bad = n[:17] + alphabet[(alphabet.index(n[17]) + delta) % 11]
    else:
        bad = n[:i] + str((int(n[i]) + delta) % 10) + n[i + 1:]
    assert not checksum_ok(bad)


def test_checksum_failures() -> None:
    good = "11010519491231002X"
    assert checksum_ok(good)
    assert not checksum_ok("110105194912310021")
    assert not checksum_ok("11010519491231002x")  # lower case is for clean() to fix
    assert not checksum_ok("11010519491231002")
    assert not checksum_ok("11010519491231002X0")
    assert not checksum_ok("1101051949123100OX")


# --------------------------------------------------------------------------- birth, sex, area


def test_birth_and_sex() -> None:
    assert birth_of("11010519491231002X") == "1949-12-31"
    assert birth_of("110105194913310021") is None  # month 13
    assert birth_of("110105187901010021") is None  # before 1880
    future = (dt.date.today() + dt.timedelta(days=30)).strftime("%Y%m%d")
    assert birth_of(make("110105", future, "002")) is None
    assert sex_of("11010519491231002X") == "女"
    assert sex_of("440524188001010014") == "男"
    assert sex_of("1101051949") is None


def test_lookup_area_current() -> None:
    a = lookup_area("110101")
    assert a is not None
    assert (a.province, a.city, a.district, a.historical) == ("北京市", "北京市", "东城区", False)
    gz = lookup_area("440106")
    assert gz is not None and (gz.province, gz.city, gz.district) == ("广东省", "广州市", "天河区")


def test_lookup_area_historical() -> None:
    a = lookup_area("110103")  # 崇文区, merged into 东城区 in 2010
    assert a is not None
    assert (a.province, a.city, a.district, a.historical) == ("北京市", "北京市", "崇文区", True)
    assert lookup_area("440524") is not None and lookup_area("440524").historical  # type: ignore[union-attr]
    assert len(HISTORICAL) > 1000
    assert is_plausible(make("110103", "19800101", "123"))  # abolished codes stay valid on old cards


def test_lookup_area_unknown() -> None:
    assert lookup_area("999999") is None
    assert lookup_area("") is None
    assert lookup_area("11010") is None


# --------------------------------------------------------------------------- clean and repair


VALID = "11010519491231002X"
VALID_DIGIT = "440524188001010014"


def test_clean() -> None:
    assert clean(" 1101 0519 4912 3100 2x ") == VALID
    assert clean("11O1O519491231OO2X") == VALID
    assert clean("") == ""


def test_repair_keeps_valid_number() -> None:
    assert repair(VALID) == (VALID, False)
    assert repair(VALID, "1949-12-31") == (VALID, False)
    # A printed birth that disagrees does not make repair() invent another number.
    assert repair(VALID, "1949-12-30") == (VALID, False)


def test_repair_letters_for_digits() -> None:
    assert repair("11O1O519491231OO2X") == (VALID, True)  # O→0
    assert repair("44O524l88OOlOlOOl4") == (VALID_DIGIT, True)  # O→0, l→1
    assert repair("4405241880010I0014") == (VALID_DIGIT, True)  # I→1


def test_repair_trailing_x() -> None:
    assert repair("11010519491231002x")[0] == VALID  # lower-case x
    assert repair("11010519491231002K")[0] == VALID
    assert repair("11010519491231002") == (VALID, True)  # X dropped
    assert repair("11010519491231002", "1949-12-31") == (VALID, True)


def test_repair_trailing_x_read_as_8() -> None:
    # Found by search: with the printed birth, X is the only confusion that fits.
    n = _find(lambda n: n.endswith("X") and repair(n[:17] + "8", birth_of(n)) == (n, True))
    assert repair(n[:17] + "8", birth_of(n)) == (n, True)


def _find(pred: Callable[[str], bool], tries: int = 20000, seed: int = 11) -> str:
    """First synthetic number (deterministic, birth day 1..28) for which pred holds."""
    rng = random.Random(seed)
    for _ in range(tries):
        birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        n = make(rng.choice(CURRENT), birth, f"{rng.randrange(1000):03d}")
        if pred(n):
            return n
    raise AssertionError("no example found")


def _fits(bad: str, birth: str | None) -> list[str]:
    """Candidates of a misread that pass every check repair() makes."""
    return sorted(
        c for c in _confusable_candidates(bad) if is_plausible(c) and (birth is None or birth_of(c) == birth)
    )


def _five_read_as_three(n: str) -> str | None:
    """n with its first sequence-part 5 read as 3 (OCR-B), or None when it has none."""
    i = n.find("5", 14, 17)
    return None if i < 0 else n[:i] + "3" + n[i + 1:]


def test_repair_single_3_5_confusion_unique() -> None:
    # With the table as shipped, e.g. 330211199808163666 → 330211199808165666 (printed 1998-08-16).
    def unique(n: str) -> bool:
        bad = _five_read_as_three(n)
        return bad is not None and _fits(bad, birth_of(n)) == [n]

    n = _find(unique)
    bad = _five_read_as_three(n)
    assert bad and checksum_ok(n) and not checksum_ok(bad)
    assert repair(bad, birth_of(n)) == (n, True)
    # Printed birth a year off (days are 1..28, so replace() is safe): no candidate agrees, no repair.
    other = dt.date.fromisoformat(birth_of(n) or "").replace(year=int(n[6:10]) - 1)
    assert _fits(bad, other.isoformat()) == []
    assert repair(bad, other.isoformat()) == (bad, False)


def test_repair_uses_printed_birth_to_disambiguate() -> None:
    # e.g. 340102198401137025 → 540102198401137025 only once the birth line says 1984-01-13.
    def needs_birth(n: str) -> bool:
        bad = _five_read_as_three(n)
        return bad is not None and len(_fits(bad, None)) >= 2 and _fits(bad, birth_of(n)) == [n]

    n = _find(needs_birth)
    bad = _five_read_as_three(n)
    assert bad
    assert repair(bad) == (bad, False)  # ambiguous without the birth line
    assert repair(bad, birth_of(n)) == (n, True)


def test_repair_refuses_when_two_candidates_fit() -> None:
    # e.g. 654322199901234369 (printed 1999-01-23): 3→5 gives the true ...4569, 9→6 in the check
    # place gives ...4366; both pass every check, so repair() must not choose.
    def ambiguous(n: str) -> bool:
        bad = _five_read_as_three(n)
        return bad is not None and len(_fits(bad, birth_of(n))) >= 2

    n = _find(ambiguous)
    bad = _five_read_as_three(n)
    assert bad and n in _fits(bad, birth_of(n))
    assert repair(bad, birth_of(n)) == (bad, False)
    assert repair(bad) == (bad, False)


@settings(max_examples=150, deadline=None)
@given(numbers, st.none() | st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2015, 12, 31)))
def test_repair_never_turns_a_valid_number_into_another(n: str, printed: dt.date | None) -> None:
    birth = printed.isoformat() if printed else None
    out, repaired = repair(n, birth)
    assert out == n and not repaired
    assert repair(n, birth_of(n)) == (n, False)


def _misreads(true_char: str) -> str:
    """Characters that repair() knows may stand for true_char (its table maps a read char to truths)."""
    from idcard_ocr.idnumber import _CONFUSABLE

    return "".join(read for read, truths in _CONFUSABLE.items() if true_char in truths)


@settings(max_examples=150, deadline=None)
@given(numbers, st.data())
def test_repair_of_a_single_known_confusion_is_right_or_declined(n: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, 16))
    reads = _misreads(n[i])
    assume(reads)
    bad = n[:i] + data.draw(st.sampled_from(reads)) + n[i + 1:]
    out, repaired = repair(bad, birth_of(n))
    # The true number is then always a candidate, so a unique fit can only be it.
    assert (out, repaired) in ((n, True), (bad, False))


@settings(max_examples=150, deadline=None)
@given(numbers, st.data())
def test_smudged_date_digits_are_taken_from_the_printed_birth_or_declined(n: str, data: st.DataObject) -> None:
    """Up to three of the number's date digits misread as anything (a stamp or watermark across them)."""
    places = data.draw(st.lists(st.integers(6, 13), min_size=1, max_size=3, unique=True))
    bad = list(n)
    for i in places:
        bad[i] = data.draw(st.sampled_from([d for d in "0123456789" if d != n[i]]))
    smudged = "".join(bad)
    out, repaired = repair(smudged, birth_of(n))
    assert (out, repaired) in ((n, True), (smudged, False))
    if birth_of(smudged) is None and len(places) <= 3:  # digits that are no date: always taken from the line
        assert (out, repaired) == (n, True)


def test_two_smudged_date_digits_read_from_the_birth_line() -> None:
    n = "532527196110015941"  # a synthetic number (checksum valid); its day read as 67 under a watermark
    assert repair("532527196110675941", "1961-10-01") == (n, True)
    assert repair("532527196110675941", "1961-10-02") == ("532527196110675941", False)  # checksum disagrees
    assert repair("532527196110025941", "1961-10-01") == ("532527196110025941", False)  # a date: kept as read


@settings(max_examples=100, deadline=None)
@given(numbers)
def test_repair_is_idempotent(n: str) -> None:
    bad = n.replace("0", "O")
    out, _ = repair(bad)
    assert repair(out)[0] == out


# --------------------------------------------------------------------------- known weaknesses (see report)


def test_confusion_missing_from_table_is_not_mis_repaired() -> None:
    n = "110101200001010002"
    bad = "110101200001010602"  # a 0 read as 6
    assert repair(bad, "2000-01-01") in ((n, True), (bad, False))  # today: ("...018602", True)


def test_superscript_digit_does_not_crash() -> None:
    out, _ = repair("1101051949123100²X")
    assert not checksum_ok(out) or out == VALID


def test_full_width_digits_are_normalized() -> None:
    assert repair("１１０１０５１９４９１２３１００２Ｘ")[0] == VALID


def test_separators_alone_are_not_a_repair() -> None:
    assert repair("110105 19491231 002X") == (VALID, False)
