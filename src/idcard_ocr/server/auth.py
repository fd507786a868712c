"""API keys from configuration, one list per API. An API without keys accepts every caller."""

from __future__ import annotations

import hmac
import logging

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
