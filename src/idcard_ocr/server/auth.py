"""API keys from configuration, one list per API. An API without keys accepts every caller."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from fastapi import Request
from starlette.datastructures import Headers, State

from idcard_ocr.server.config import VENDORS, Settings
from idcard_ocr.server.inputs import read_body
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


# --- Huawei, PAI-EAS ---


Verifier = tuple[dict[str, bytes], list[bytes], ReplayGuard]  # (id:secret pairs, all keys as bytes, replays)


def _verifier(state: State, vendor: str, window: timedelta = SIGNED_WINDOW) -> Verifier:
    """One API's keys and replay guard, made once per app (on its state) from its settings."""
    made: dict[str, Verifier] = getattr(state, "verifiers", None) or {}
    if vendor not in made:
        keys = state.settings.keys_for(vendor)
        made[vendor] = (pairs(keys), [k.encode() for k in keys], ReplayGuard(window))
        state.verifiers = made
    return made[vendor]


def _header_bytes(request: Request, name: str) -> bytes | None:
    """One header's value as the bytes received (signatures cover bytes); None if absent or repeated."""
    values = request.headers.getlist(name)
    return values[0].encode("latin-1") if len(values) == 1 else None


HUAWEI_ALGORITHM = "SDK-HMAC-SHA256"
HUAWEI_DATE = "%Y%m%dT%H%M%SZ"
_HUAWEI_AUTH = re.compile(
    r"SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def _huawei_uri(path: str) -> str:
    """CanonicalURI as huaweicloudsdkcore's Signer builds it: each segment percent-encoded, a trailing '/'."""
    uri = "/".join(quote(segment, safe="~") for segment in path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _huawei_query(raw_query: bytes) -> str:
    """CanonicalQueryString: parameters sorted by name then value, each percent-encoded ('~' kept)."""
    params = []
    for part in raw_query.decode("latin-1").split("&"):
        if part:
            key, _, val = part.partition("=")
            params.append((unquote(key), unquote(val)))
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params))


def verify_huawei(
    request: Request, body: bytes, known: dict[str, bytes], replays: ReplayGuard, now: datetime | None = None
) -> None:
    """Huawei APIG ``Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>``.

    HMAC-SHA256(SK, "SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n" + hex SHA-256 of the canonical request), where the
    canonical request is method, canonical URI, canonical query, "name:value\\n" per signed header, the signed
    header names, and the hex SHA-256 of the body as received (an ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD``
    body is therefore refused: every body must be signed). ``host`` and ``x-sdk-date`` must be signed.
    AUTH_REFUSED (param "Authorization") for a bad or unknown signature, AUTH_EXPIRED, AUTH_REPLAYED."""
    match = _HUAWEI_AUTH.fullmatch(request.headers.get("Authorization", "").strip())
    if not match:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "malformed SDK-HMAC-SHA256 header")
    signed = match["headers"].split(";")
    if "host" not in signed or "x-sdk-date" not in signed:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "host and x-sdk-date must be signed")
    date = request.headers.get("X-Sdk-Date", "")
    try:
        signed_at = datetime.strptime(date, HUAWEI_DATE).replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "bad X-Sdk-Date") from exc
    check_fresh(signed_at, now)
    lines = [request.method.upper().encode(), _huawei_uri(request.url.path).encode(),
             _huawei_query(request.scope.get("query_string", b"")).encode()]
    for name in signed:
        value = _header_bytes(request, name)
        if value is None:
            raise ApiError(Kind.AUTH_REFUSED, "Authorization", "a signed header is missing or repeated")
        lines.append(name.encode() + b":" + value.strip())
    lines += [b"", match["headers"].encode(), hashlib.sha256(body).hexdigest().encode()]
    canonical = hashlib.sha256(b"\n".join(lines)).hexdigest()
    to_sign = f"{HUAWEI_ALGORITHM}\n{date}\n{canonical}".encode()
    secret = secret_of(known, match["ak"])
    expected = hmac.new(secret or b"\0", to_sign, hashlib.sha256).hexdigest()  # computed alike for unknown AKs
    if not same(expected, match["signature"]) or secret is None:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "signature does not match")
    replays.check("huawei:" + match["signature"])


async def read_huawei(request: Request, limit: int) -> bytes:
    """The body (at most ``limit`` bytes) of a caller Huawei's API accepts: an ``X-Auth-Token`` that is one of
    the plain tokens, or an AK/SK signature by one of the ``AK:SK`` pairs (checked on the bytes received)."""
    checker: KeyChecker = request.app.state.keys
    signed = request.headers.get("Authorization", "").startswith(HUAWEI_ALGORITHM + " ")
    if checker.enabled("huawei") and not signed:
        checker.check("huawei", request.headers.get("X-Auth-Token"))  # before reading a body we would refuse
    body = await read_body(request, limit)
    if checker.enabled("huawei") and signed:
        known, _, replays = _verifier(request.app.state, "huawei")
        verify_huawei(request, body, known, replays)
    return body


# eas-prediction stamps Date with the client's *local* time labelled GMT (datetime.now()), so a client in
# UTC+8 sends a date 8 hours ahead. A date is fresh if it is within the window of now shifted by a whole
# number of hours between -12 and +14; the replay guard remembers signatures for as long as one can pass
# (26.5 hours; at most its capacity of them: a replay only repeats a read of an image the replayer holds).
EAS_OFFSETS = tuple(timedelta(hours=h) for h in range(-12, 15))
EAS_GUARD_WINDOW = timedelta(hours=27)


def check_fresh_eas(signed_at: datetime, now: datetime | None = None) -> None:
    """AUTH_EXPIRED unless ``signed_at`` is within the window of now in some whole-hour UTC offset."""
    now = now or datetime.now(timezone.utc)
    if not any(abs(now + offset - signed_at) <= SIGNED_WINDOW for offset in EAS_OFFSETS):
        raise ApiError(Kind.AUTH_EXPIRED)


def verify_eas(
    request: Request, body: bytes, tokens: list[bytes], replays: ReplayGuard, now: datetime | None = None
) -> None:
    """PAI-EAS ``Authorization: EAS <base64 HMAC-SHA1(token, "POST\\n<Content-MD5>\\n<Content-Type>\\n<Date>\\n
    /api/predict/<service>")>`` as eas-prediction's PredictClient signs it (Content-MD5 is the hex MD5 of the
    body, checked against the bytes received). AUTH_REFUSED (param "Authorization"), AUTH_EXPIRED, AUTH_REPLAYED."""
    signature = header_after(request, "Authorization", "EAS")
    md5 = _header_bytes(request, "Content-MD5")
    date = _header_bytes(request, "Date")
    if not signature or md5 is None or date is None:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "EAS signature needs Content-MD5 and Date")
    if not same(md5, hashlib.md5(body).hexdigest()):
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "Content-MD5 does not match the body")
    try:  # RFC 1123 ("Mon, 30 Nov 2026 12:00:00 GMT"), parsed whatever the server's locale
        signed_at = parsedate_to_datetime(date.decode("ascii"))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "bad Date") from exc
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=timezone.utc)
    check_fresh_eas(signed_at, now)
    content_type = _header_bytes(request, "Content-Type") or b""
    to_sign = b"\n".join(
        [request.method.upper().encode(), md5, content_type, date, request.url.path.encode()]
    ).strip()
    matches = 0
    for token in tokens:  # every token is tried, so the time taken does not tell which one signed
        expected = base64.b64encode(hmac.new(token, to_sign, hashlib.sha1).digest())
        matches += same(expected, signature)
    if not matches:
        raise ApiError(Kind.AUTH_REFUSED, "Authorization", "signature does not match")
    replays.check("eas:" + signature)


async def read_pai_eas(request: Request, limit: int) -> bytes:
    """The body (at most ``limit`` bytes) of a caller PAI-EAS accepts: ``Authorization: <token>`` verbatim, or
    ``Authorization: EAS <signature>`` made with one of the tokens (checked on the bytes received)."""
    checker: KeyChecker = request.app.state.keys
    signed = header_after(request, "Authorization", "EAS") is not None
    if checker.enabled("pai_eas") and not signed:
        checker.check("pai_eas", request.headers.get("Authorization"))
    body = await read_body(request, limit)
    if checker.enabled("pai_eas") and signed:
        _, tokens, replays = _verifier(request.app.state, "pai_eas", EAS_GUARD_WINDOW)
        verify_eas(request, body, tokens, replays)
    return body


# --- Tencent, Baidu, Alibaba Cloud OCR ---
#
# Each function checks one vendor's signature scheme on a request given as plain parts (method, path, query,
# headers, body), so it can be tested without HTTP; each raises ApiError with AUTH_MISSING (no or malformed
# credential), AUTH_REFUSED (unknown key, wrong signature, tampered body: ``detail`` is UNKNOWN_KEY when the key
# id is not configured), AUTH_EXPIRED (signed date outside SIGNED_WINDOW) or AUTH_REPLAYED, and returns the key id.

UNKNOWN_KEY = "unknown key id"
TC3 = "TC3-HMAC-SHA256"
ACS3 = "ACS3-HMAC-SHA256"
BCE = "bce-auth-v1"
BAIDU_TOKEN_LIFETIME = 30 * 24 * 3600  # Baidu's own access tokens live 30 days (expires_in 2592000)
_BAIDU_TOKEN_PREFIX = "24."  # the prefix Baidu's access tokens carry


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lookup(known: dict[str, bytes], key_id: str) -> bytes:
    secret = secret_of(known, key_id)
    if secret is None:
        raise ApiError(Kind.AUTH_REFUSED, detail=UNKNOWN_KEY)
    return secret


def _utc(text: str, fmt: str) -> datetime:
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise ApiError(Kind.AUTH_MISSING, detail="malformed date") from exc


def _auth_fields(value: str) -> dict[str, str]:
    """``Credential=a, SignedHeaders=b;c, Signature=d`` (with or without spaces) as a dict."""
    out: dict[str, str] = {}
    for part in value.split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            out[name.strip()] = val.strip()
    return out


def check_tc3(
    known: dict[str, bytes], method: str, path: str, query: str, headers: Headers, body: bytes,
    *, replays: ReplayGuard, now: datetime | None = None,
) -> str:
    """Tencent Cloud API 3.0 TC3-HMAC-SHA256, as tencentcloud-sdk-python signs (abstract_client.py).

    ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=...,
    Signature=<hex>``; the canonical request is method, path, query, the signed headers (lower-case), and the
    SHA-256 of the body; the string to sign adds X-TC-Timestamp and the credential scope; the key is derived
    by HMAC chain from "TC3" + SecretKey over date, service and "tc3_request"."""
    algorithm, _, rest = headers.get("authorization", "").strip().partition(" ")
    if algorithm != TC3:
        raise ApiError(Kind.AUTH_MISSING)
    fields = _auth_fields(rest)
    scope = fields.get("Credential", "").split("/")
    signed = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    stamp = headers.get("x-tc-timestamp", "")
    if len(scope) != 4 or scope[3] != "tc3_request" or not signature or not stamp.isdigit():
        raise ApiError(Kind.AUTH_MISSING, detail="malformed authorization")
    key_id, date, service = scope[0], scope[1], scope[2]
    names = signed.split(";")
    if "content-type" not in names or "host" not in names:
        raise ApiError(Kind.AUTH_MISSING, detail="content-type and host must be signed")
    if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":  # the body must be covered
        raise ApiError(Kind.AUTH_MISSING, detail="unsigned payload")
    secret = _lookup(known, key_id)
    signed_at = datetime.fromtimestamp(int(stamp), timezone.utc)
    check_fresh(signed_at, now)
    if date != signed_at.strftime("%Y-%m-%d"):
        raise ApiError(Kind.AUTH_REFUSED, detail="credential date is not the timestamp's")
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in names)
    canonical = "\n".join((method, path, query, canonical_headers, signed, _sha256_hex(body)))
    to_sign = "\n".join((TC3, stamp, f"{date}/{service}/tc3_request", _sha256_hex(canonical.encode("utf-8"))))
    key = _hmac256(_hmac256(_hmac256(b"TC3" + secret, date), service), "tc3_request")
    if not same(hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest(), signature):
        raise ApiError(Kind.AUTH_REFUSED)
    replays.check(f"tc3:{signature}")
    return key_id


def _acs3_query(query: str) -> str:
    """Alibaba's canonical query: each name=value percent-encoded (RFC 3986, '~' kept), sorted by name."""
    params: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            name, _, val = part.partition("=")
            params[urllib.parse.unquote(name)] = urllib.parse.unquote(val)
    return "&".join(
        f"{urllib.parse.quote(name, safe='~')}={urllib.parse.quote(params[name], safe='~')}" for name in sorted(params)
    )


def check_acs3(
    known: dict[str, bytes], method: str, path: str, query: str, headers: Headers, body: bytes,
    *, replays: ReplayGuard, now: datetime | None = None,
) -> str:
    """Alibaba Cloud ACS3-HMAC-SHA256 (V3 signature), as alibabacloud_tea_openapi signs (utils.get_authorization).

    ``Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b>,Signature=<hex>``; the canonical
    request is method, path, the sorted encoded query, each signed header ``name:value`` (several values sorted,
    joined by ','), the signed header names and x-acs-content-sha256, which must be the body's SHA-256; the string
    to sign is the algorithm and the canonical request's SHA-256; the signature is HMAC-SHA256 with the secret.
    x-acs-date must be fresh and x-acs-signature-nonce is accepted once."""
    algorithm, _, rest = headers.get("authorization", "").strip().partition(" ")
    if algorithm != ACS3:
        raise ApiError(Kind.AUTH_MISSING)
    fields = _auth_fields(rest)
    key_id, signed, signature = fields.get("Credential", ""), fields.get("SignedHeaders", ""), fields.get("Signature")
    names = signed.split(";")
    needed = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
    if not key_id or not signature or any(name not in names for name in needed) or names != sorted(names):
        raise ApiError(Kind.AUTH_MISSING, detail="malformed authorization")
    secret = _lookup(known, key_id)
    check_fresh(_utc(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ"), now)
    payload = _sha256_hex(body)
    if not same(headers.get("x-acs-content-sha256", ""), payload):
        raise ApiError(Kind.AUTH_REFUSED, detail="body does not match x-acs-content-sha256")
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in headers.getlist(name)))}\n" for name in names
    )
    canonical = "\n".join((method, path or "/", _acs3_query(query), canonical_headers, signed, payload))
    to_sign = f"{ACS3}\n{_sha256_hex(canonical.encode('utf-8'))}"
    if not same(hmac.new(secret, to_sign.encode("utf-8"), hashlib.sha256).hexdigest(), signature):
        raise ApiError(Kind.AUTH_REFUSED)
    replays.check(f"acs3:{key_id}:{headers.get('x-acs-signature-nonce', '')}")
    return key_id


def check_bce(
    known: dict[str, bytes], method: str, path: str, query: str, headers: Headers, body: bytes,
    *, replays: ReplayGuard, now: datetime | None = None,
) -> str:
    """Baidu Cloud bce-auth-v1, as baidu-aip signs (aip/base.py _getAuthHeaders) when it has no access_token.

    ``authorization: bce-auth-v1/<AK>/<timestamp>/<expire seconds>/<signed;headers>/<hex>``; the signing key is
    HMAC-SHA256(SK, "bce-auth-v1/AK/timestamp/expire") in hex; the canonical request is method, the quoted path,
    the sorted urlencoded query and the sorted ``name:value`` of the signed headers (host at least). That SDK
    signs no digest of the body: a body is covered only when x-bce-content-sha256 or content-md5 is signed
    (then checked here)."""
    parts = headers.get("authorization", "").strip().split("/")
    if len(parts) != 6 or parts[0] != BCE or not parts[3].isdigit():
        raise ApiError(Kind.AUTH_MISSING)
    _, key_id, stamp, expire, signed, signature = parts
    names = [name.strip().lower() for name in signed.split(";") if name.strip()]
    if "host" not in names:
        raise ApiError(Kind.AUTH_MISSING, detail="host must be signed")
    secret = _lookup(known, key_id)
    signed_at = _utc(stamp, "%Y-%m-%dT%H:%M:%SZ")
    now = now or datetime.now(timezone.utc)
    check_fresh(signed_at, now)
    if now > signed_at + timedelta(seconds=int(expire)):
        raise ApiError(Kind.AUTH_EXPIRED)
    if "x-bce-content-sha256" in names and not same(headers.get("x-bce-content-sha256", ""), _sha256_hex(body)):
        raise ApiError(Kind.AUTH_REFUSED, detail="body does not match x-bce-content-sha256")
    if "content-md5" in names and not same(
        headers.get("content-md5", ""), base64.b64encode(hashlib.md5(body).digest()).decode()
    ):
        raise ApiError(Kind.AUTH_REFUSED, detail="body does not match content-md5")
    signing_key = hmac.new(secret, f"{BCE}/{key_id}/{stamp}/{expire}".encode(), hashlib.sha256).hexdigest()
    pairs_ = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k.lower() != "authorization"]
    canonical_query = "&".join(sorted(urllib.parse.urlencode(pairs_).split("&"))) if pairs_ else ""
    canonical_headers = "\n".join(sorted(
        f"{urllib.parse.quote(name, '').lower()}:{urllib.parse.quote(headers.get(name, '').strip(), '')}"
        for name in names
    ))
    canonical = "\n".join((method.upper(), urllib.parse.quote(path), canonical_query, canonical_headers))
    expected = hmac.new(signing_key.encode(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    if not same(expected, signature):
        raise ApiError(Kind.AUTH_REFUSED)
    # The signature does not cover the body, and two calls within one second share it: a replay is the same
    # signature with the same body (a busy client's next call, another image, is not one).
    replays.check(f"bce:{signature}:{_sha256_hex(body)}")
    return key_id


def _baidu_token_mac(secret: bytes, key_id: str, expiry: int) -> str:
    return hmac.new(secret, f"baidu-access-token/{key_id}/{expiry}".encode(), hashlib.sha256).hexdigest()


def issue_baidu_token(key_id: str, secret: bytes, now: float | None = None) -> str:
    """A self-contained Baidu ``access_token``: key id, expiry and an HMAC keyed by that key's secret, so every
    worker process can check it without shared state (and rotating the secret revokes it)."""
    expiry = int(now if now is not None else time.time()) + BAIDU_TOKEN_LIFETIME
    encoded = base64.urlsafe_b64encode(key_id.encode()).decode().rstrip("=")
    return f"{_BAIDU_TOKEN_PREFIX}{encoded}.{expiry}.{_baidu_token_mac(secret, key_id, expiry)}"


def check_baidu_token(known: dict[str, bytes], token: str | None, now: float | None = None) -> str:
    """The key id of a token from issue_baidu_token: AUTH_MISSING without one, AUTH_REFUSED when it is not ours
    (or its key is gone), AUTH_EXPIRED after its lifetime."""
    if not token:
        raise ApiError(Kind.AUTH_MISSING)
    parts = token[len(_BAIDU_TOKEN_PREFIX):].split(".") if token.startswith(_BAIDU_TOKEN_PREFIX) else []
    if len(parts) != 3 or not parts[1].isdigit():
        raise ApiError(Kind.AUTH_REFUSED)
    try:
        key_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(Kind.AUTH_REFUSED) from exc
    secret = secret_of(known, key_id)
    expiry = int(parts[1])
    if secret is None or not same(_baidu_token_mac(secret, key_id, expiry), parts[2]):
        raise ApiError(Kind.AUTH_REFUSED)
    if (now if now is not None else time.time()) > expiry:
        raise ApiError(Kind.AUTH_EXPIRED)
    return key_id


def signing_pairs(request: Request, vendor: str) -> dict[str, bytes] | None:
    """``vendor``'s id:secret pairs, or None when no key is configured for it (auth off: every caller accepted)."""
    checker: KeyChecker = request.app.state.keys
    if not checker.enabled(vendor):
        return None
    return _verifier(request.app.state, vendor)[0]  # parsed once per app, as Huawei's and PAI-EAS's are


def replay_guard(request: Request, vendor: str) -> ReplayGuard:
    """``vendor``'s accepted signatures, kept per app (on its state) as Huawei's and PAI-EAS's are."""
    return _verifier(request.app.state, vendor)[2]


def request_parts(request: Request) -> tuple[str, str, str, Headers]:
    """(method, path, raw query string, headers) of a request, as signature checks take them."""
    return request.method, request.url.path, request.scope.get("query_string", b"").decode("latin-1"), request.headers


SignatureCheck = Callable[..., str]  # check_tc3, check_acs3, check_bce


def check_signed(request: Request, vendor: str, body: bytes, check: SignatureCheck) -> None:
    """``check`` (one scheme's function above) on a request and the bytes received, with ``vendor``'s pairs and
    replay guard; nothing when no key is configured for ``vendor`` (auth off)."""
    known = signing_pairs(request, vendor)
    if known is not None:
        method, path, query, headers = request_parts(request)
        check(known, method, path, query, headers, body, replays=replay_guard(request, vendor))


async def read_signed(request: Request, vendor: str, limit: int, check: SignatureCheck) -> bytes:
    """The body (at most ``limit`` bytes) of a caller ``vendor`` accepts, signed as ``check`` verifies."""
    body = await read_body(request, limit)
    check_signed(request, vendor, body, check)
    return body
