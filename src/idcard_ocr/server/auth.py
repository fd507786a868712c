"""API keys from configuration, one list per API. An API without keys accepts every caller."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from fastapi import Request

from idcard_ocr.server.config import VENDORS, Settings
from idcard_ocr.server.problems import ApiError, Kind

log = logging.getLogger("idcard_ocr.server")


class KeyChecker:
    def __init__(self, settings: Settings) -> None:
        self._keys = {vendor: [k.encode() for k in settings.keys_for(vendor)] for vendor in VENDORS}

    def enabled(self, vendor: str) -> bool:
        return bool(self._keys[vendor])

    def check(self, vendor: str, presented: str | None) -> None:
        """AUTH_MISSING / AUTH_REFUSED unless ``presented`` is one of ``vendor``'s keys (or auth is off)."""
        keys = self._keys[vendor]
        if not keys:
            return
        if not presented:
            raise ApiError(Kind.AUTH_MISSING)
        given = presented.encode()
        # compare against every key so the time taken does not tell which one nearly matched
        if not sum(hmac.compare_digest(given, key) for key in keys):
            raise ApiError(Kind.AUTH_REFUSED)

    def log_state(self) -> None:
        off = [vendor for vendor in VENDORS if not self._keys[vendor]]
        if off:
            log.warning("authentication is OFF for: %s (no API keys configured)", ", ".join(off))
        on = [vendor for vendor in VENDORS if self._keys[vendor]]
        if on:
            log.info("authentication is on for: %s", ", ".join(on))


def check(request: Request, vendor: str, presented: str | None) -> None:
    checker: KeyChecker = request.app.state.keys
    checker.check(vendor, presented)


def header_after(request: Request, header: str, scheme: str) -> str | None:
    """The credential in ``header: <scheme> <credential>`` (scheme matched case-insensitively)."""
    value = request.headers.get(header, "").strip()
    prefix, _, rest = value.partition(" ")
    if prefix.lower() == scheme.lower() and rest.strip():
        return rest.strip()
    return None


# --- Signed requests: the pieces every vendor signature scheme shares (one scheme per function below them) ---

SIGNED_WINDOW = timedelta(minutes=15)  # a signed date further than this from our clock is refused (replays, skew)


def pairs(settings_keys: list[str]) -> dict[str, bytes]:
    """``id:secret`` entries of one API's key list as {id: secret}; entries without ``:`` are plain tokens."""
    out: dict[str, bytes] = {}
    for key in settings_keys:
        key_id, sep, secret = key.partition(":")
        if sep and key_id and secret:
            out[key_id] = secret.encode()
    return out


def secret_of(known: dict[str, bytes], key_id: str) -> bytes | None:
    """The secret for ``key_id``: every id is compared, in constant time, so timing does not tell which exist."""
    found: bytes | None = None
    given = key_id.encode()
    for candidate, secret in known.items():
        if hmac.compare_digest(given, candidate.encode()):
            found = secret
    return found


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality of two signatures."""
    return hmac.compare_digest(a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b)


def check_fresh(signed_at: datetime, now: datetime | None = None, window: timedelta = SIGNED_WINDOW) -> None:
    """AUTH_EXPIRED unless ``signed_at`` (timezone-aware) is within ``window`` of now, either way."""
    now = now or datetime.now(timezone.utc)
    if abs(now - signed_at) > window:
        raise ApiError(Kind.AUTH_EXPIRED)


class ReplayGuard:
    """Signatures (or nonces) already accepted within the signed window, refused a second time.

    Bounded: entries older than the window are dropped, and at most ``capacity`` are kept (the oldest go first).
    Per worker process: a replay sent to another worker is caught only by the date window."""

    def __init__(self, window: timedelta = SIGNED_WINDOW, capacity: int = 100_000) -> None:
        self._window = window.total_seconds()
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, token: str, now: float | None = None) -> None:
        """AUTH_REPLAYED if ``token`` was accepted within the window; otherwise remember it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._seen and (len(self._seen) >= self._capacity
                                  or now - next(iter(self._seen.values())) > self._window):
                self._seen.popitem(last=False)
            if token in self._seen:
                raise ApiError(Kind.AUTH_REPLAYED)
            self._seen[token] = now
