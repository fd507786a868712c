"""The pieces every signature scheme shares: key pairs, constant-time lookup, the date window, replays."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from idcard_ocr.server import auth
from idcard_ocr.server.problems import ApiError, Kind


def test_pairs_keep_id_secret_entries_and_skip_plain_tokens() -> None:
    assert auth.pairs(["plain-token", "AK1:SK1", "AK2:S:K2", ":nosecret", "noid:"]) == {"AK1": b"SK1", "AK2": b"S:K2"}


def test_secret_of_finds_only_the_exact_id() -> None:
    known = {"AK1": b"a", "AK2": b"b"}
    assert auth.secret_of(known, "AK2") == b"b"
    assert auth.secret_of(known, "AK") is None
    assert auth.secret_of(known, "AK1 ") is None


@pytest.mark.parametrize("minutes,ok", [(0, True), (14, True), (-14, True), (16, False), (-16, False)])
def test_check_fresh_window(minutes: int, ok: bool) -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    signed = now + timedelta(minutes=minutes)
    if ok:
        auth.check_fresh(signed, now)
    else:
        with pytest.raises(ApiError) as err:
            auth.check_fresh(signed, now)
        assert err.value.kind is Kind.AUTH_EXPIRED


def test_replay_guard_refuses_a_second_use_within_the_window_only() -> None:
    guard = auth.ReplayGuard(timedelta(seconds=60), capacity=3)
    guard.check("sig-a", now=0.0)
    with pytest.raises(ApiError) as err:
        guard.check("sig-a", now=30.0)
    assert err.value.kind is Kind.AUTH_REPLAYED
    guard.check("sig-a", now=61.0)  # the date window refuses it by then; the guard need not remember it


def test_replay_guard_stays_bounded() -> None:
    guard = auth.ReplayGuard(timedelta(seconds=60), capacity=3)
    for i in range(10):
        guard.check(f"sig-{i}", now=float(i))
    assert len(guard._seen) <= 3
