"""The signature schemes of Tencent Cloud (TC3-HMAC-SHA256), Baidu (bce-auth-v1, access tokens) and Alibaba Cloud
(ACS3-HMAC-SHA256), checked against requests signed by each vendor's own SDK code: accepted as signed; refused when
the body is tampered with, the secret is wrong, the key is unknown, the date is stale, or the request is replayed."""

from __future__ import annotations

import base64
import hashlib
import json
import types
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import PNG, FakeReader, make_app, make_reading
from starlette.datastructures import Headers

from idcard_ocr.server import auth
from idcard_ocr.server.problems import ApiError, Kind

KEY_ID, SECRET = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3example", "Gu5t9xGARNpq86cd98joQYCN3example"
KNOWN = {KEY_ID: SECRET.encode(), "other-id": b"other-secret"}
HOST = "127.0.0.1:8080"


def kind_of(check: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as info:
        check()
    return info.value


# ---- Tencent TC3-HMAC-SHA256, signed by tencentcloud-sdk-python's AbstractClient ----


def tc3_signed(secret: str = SECRET, params: dict[str, Any] | None = None, key_id: str = KEY_ID,
               host: str = HOST) -> tuple[dict[str, str], bytes, datetime]:
    from tencentcloud.common import credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.ocr.v20181119 import ocr_client

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=host))
    client = ocr_client.OcrClient(credential.Credential(key_id, secret), "ap-guangzhou", profile)
    req = RequestInternal(host, "POST", "/", header={})
    client._build_req_inter("IDCardOCR", params or {"ImageBase64": "aGVsbG8=", "CardSide": "FRONT"}, req)
    signed_at = datetime.fromtimestamp(int(req.header["X-TC-Timestamp"]), timezone.utc)
    return req.header, req.data.encode(), signed_at


def check_tc3(headers: dict[str, str], body: bytes, **kwargs: Any) -> str:
    kwargs.setdefault("replays", auth.ReplayGuard())
    return auth.check_tc3(KNOWN, "POST", "/", "", Headers(headers), body, **kwargs)


def test_tc3_accepts_what_the_sdk_signs_once() -> None:
    headers, body, _ = tc3_signed()
    guard = auth.ReplayGuard()
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=" + KEY_ID)
    assert check_tc3(headers, body, replays=guard) == KEY_ID
    assert kind_of(lambda: check_tc3(headers, body, replays=guard)).kind is Kind.AUTH_REPLAYED


def test_tc3_refuses_a_tampered_body_a_wrong_secret_and_an_unknown_key() -> None:
    headers, body, _ = tc3_signed()
    tampered = body.replace(b"FRONT", b"BACK!")
    assert kind_of(lambda: check_tc3(headers, tampered, replays=auth.ReplayGuard())).kind is Kind.AUTH_REFUSED
    wrong_headers, wrong_body, _ = tc3_signed(secret="not-the-secret")
    assert kind_of(lambda: check_tc3(wrong_headers, wrong_body)).kind is Kind.AUTH_REFUSED
    stranger, stranger_body, _ = tc3_signed(key_id="AKIDunknown")
    err = kind_of(lambda: check_tc3(stranger, stranger_body))
    assert (err.kind, err.detail) == (Kind.AUTH_REFUSED, auth.UNKNOWN_KEY)


def test_tc3_refuses_a_stale_timestamp_and_a_changed_host() -> None:
    headers, body, signed_at = tc3_signed()
    late = signed_at + timedelta(minutes=16)
    assert kind_of(lambda: check_tc3(headers, body, now=late)).kind is Kind.AUTH_EXPIRED
    assert check_tc3(headers, body, now=signed_at + timedelta(minutes=14), replays=auth.ReplayGuard()) == KEY_ID
    proxied = {**headers, "Host": "internal:9000"}  # a proxy that rewrites Host breaks the signature
    assert kind_of(lambda: check_tc3(proxied, body, replays=auth.ReplayGuard())).kind is Kind.AUTH_REFUSED


def test_tc3_without_authorization_is_missing() -> None:
    headers, body, _ = tc3_signed()
    del headers["Authorization"]
    assert kind_of(lambda: check_tc3(headers, body)).kind is Kind.AUTH_MISSING


# ---- Alibaba Cloud ACS3-HMAC-SHA256, signed by alibabacloud_tea_openapi's Utils.get_authorization ----


def acs3_signed(body: bytes, secret: str = SECRET, key_id: str = KEY_ID, query: dict[str, str] | None = None,
                host: str = HOST) -> tuple[dict[str, str], str]:
    from urllib.parse import quote

    from alibabacloud_tea_openapi.utils import Utils

    query = query if query is not None else {"OutputFigure": "true", "Url": "https://example.com/a b~.jpg"}
    headers = {
        "host": host,
        "x-acs-version": "2021-07-07",
        "x-acs-action": "RecognizeIdcard",
        "user-agent": "AlibabaCloud test",
        "x-acs-date": Utils.get_timestamp(),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "accept": "application/json",
        "content-type": "application/octet-stream",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    request = types.SimpleNamespace(pathname="/", query=query, headers=headers, method="POST")
    headers["Authorization"] = Utils.get_authorization(request, "ACS3-HMAC-SHA256",
                                                       headers["x-acs-content-sha256"], key_id, secret)
    raw_query = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())  # as sent on the wire
    return headers, raw_query


def check_acs3(headers: dict[str, str], query: str, body: bytes, **kwargs: Any) -> str:
    kwargs.setdefault("replays", auth.ReplayGuard())
    return auth.check_acs3(KNOWN, "POST", "/", query, Headers(headers), body, **kwargs)


def test_acs3_accepts_what_the_sdk_signs_and_refuses_the_nonce_again() -> None:
    body = b"\xff\xd8 image bytes"
    headers, query = acs3_signed(body)
    guard = auth.ReplayGuard()
    assert check_acs3(headers, query, body, replays=guard) == KEY_ID
    assert kind_of(lambda: check_acs3(headers, query, body, replays=guard)).kind is Kind.AUTH_REPLAYED


def test_acs3_refuses_tampering_wrong_secret_unknown_key_and_stale_date() -> None:
    body = b"\xff\xd8 image bytes"
    headers, query = acs3_signed(body)
    fresh = auth.ReplayGuard
    assert kind_of(lambda: check_acs3(headers, query, body + b"x", replays=fresh())).kind is Kind.AUTH_REFUSED
    forged = {**headers, "x-acs-content-sha256": hashlib.sha256(body + b"x").hexdigest()}
    assert kind_of(lambda: check_acs3(forged, query, body + b"x", replays=fresh())).kind is Kind.AUTH_REFUSED
    changed_query = query.replace("OutputFigure=true", "OutputFigure=false")
    assert kind_of(lambda: check_acs3(headers, changed_query, body, replays=fresh())).kind is Kind.AUTH_REFUSED
    wrong, wrong_query = acs3_signed(body, secret="not-the-secret")
    assert kind_of(lambda: check_acs3(wrong, wrong_query, body, replays=fresh())).kind is Kind.AUTH_REFUSED
    stranger, stranger_query = acs3_signed(body, key_id="LTAIunknown")
    err = kind_of(lambda: check_acs3(stranger, stranger_query, body, replays=fresh()))
    assert (err.kind, err.detail) == (Kind.AUTH_REFUSED, auth.UNKNOWN_KEY)
    signed_at = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    late = signed_at + timedelta(minutes=16)
    assert kind_of(lambda: check_acs3(headers, query, body, now=late, replays=fresh())).kind is Kind.AUTH_EXPIRED


def test_acs3_needs_the_date_nonce_and_body_hash_signed() -> None:
    body = b"x"
    headers, query = acs3_signed(body)
    unsigned = {**headers, "Authorization": headers["Authorization"].replace("x-acs-signature-nonce;", "")}
    assert kind_of(lambda: check_acs3(unsigned, query, body)).kind is Kind.AUTH_MISSING


# ---- Baidu bce-auth-v1, signed by baidu-aip's AipBase._getAuthHeaders ----

BAIDU_URL = "http://127.0.0.1:8080/rest/2.0/ocr/v1/idcard"
SDK_QUERY = "aipSdk=python&aipVersion=4.15.13"


def bce_signed(secret: str = SECRET, key_id: str = KEY_ID, headers: dict[str, str] | None = None,
               ) -> dict[str, str]:
    from aip import AipOcr

    client = AipOcr("12345", key_id, secret)
    client._isCloudUser = True  # what the SDK sets when its token answer lacks brain_all_scope
    return client._getAuthHeaders("POST", BAIDU_URL, {"aipSdk": "python", "aipVersion": "4.15.13"}, headers)


def check_bce(headers: dict[str, str], body: bytes = b"image=abc&id_card_side=front", query: str = SDK_QUERY,
              **kwargs: Any) -> str:
    kwargs.setdefault("replays", auth.ReplayGuard())
    return auth.check_bce(KNOWN, "POST", "/rest/2.0/ocr/v1/idcard", query, Headers(headers), body, **kwargs)


def test_bce_accepts_what_the_sdk_signs_once() -> None:
    headers = bce_signed()
    assert headers["authorization"].startswith(f"bce-auth-v1/{KEY_ID}/")
    guard = auth.ReplayGuard()
    assert check_bce(headers, replays=guard) == KEY_ID
    assert kind_of(lambda: check_bce(headers, replays=guard)).kind is Kind.AUTH_REPLAYED


def test_bce_refuses_wrong_secret_unknown_key_changed_query_and_stale_date() -> None:
    fresh = auth.ReplayGuard
    assert kind_of(lambda: check_bce(bce_signed(secret="nope"), replays=fresh())).kind is Kind.AUTH_REFUSED
    err = kind_of(lambda: check_bce(bce_signed(key_id="unknown-ak"), replays=fresh()))
    assert (err.kind, err.detail) == (Kind.AUTH_REFUSED, auth.UNKNOWN_KEY)
    headers = bce_signed()
    changed = "aipSdk=python&aipVersion=4.15.14"
    assert kind_of(lambda: check_bce(headers, query=changed, replays=fresh())).kind is Kind.AUTH_REFUSED
    signed_at = datetime.strptime(headers["x-bce-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    late = signed_at + timedelta(minutes=16)
    assert kind_of(lambda: check_bce(headers, now=late, replays=fresh())).kind is Kind.AUTH_EXPIRED


def test_bce_covers_the_body_when_its_hash_is_signed() -> None:
    body = b"image=abc&id_card_side=front"
    headers = bce_signed(headers={"x-bce-content-sha256": hashlib.sha256(body).hexdigest()})
    assert "x-bce-content-sha256" in headers["authorization"]
    assert check_bce(headers, body, replays=auth.ReplayGuard()) == KEY_ID
    tampered = body.replace(b"front", b"back")
    assert kind_of(lambda: check_bce(headers, tampered, replays=auth.ReplayGuard())).kind is Kind.AUTH_REFUSED


# ---- Baidu access tokens: self-contained, checked by any worker ----


def test_baidu_token_round_trip_expiry_and_forgery() -> None:
    token = auth.issue_baidu_token(KEY_ID, SECRET.encode(), now=1_000_000)
    assert token.startswith("24.")
    assert auth.check_baidu_token(KNOWN, token, now=1_000_000 + 3600) == KEY_ID
    late = 1_000_000 + auth.BAIDU_TOKEN_LIFETIME + 1
    assert kind_of(lambda: auth.check_baidu_token(KNOWN, token, now=late)).kind is Kind.AUTH_EXPIRED
    head, expiry, mac = token.rsplit(".", 2)
    stretched = f"{head}.{int(expiry) + 10 ** 6}.{mac}"  # a later expiry without the secret
    assert kind_of(lambda: auth.check_baidu_token(KNOWN, stretched, now=1_000_000)).kind is Kind.AUTH_REFUSED
    other = auth.issue_baidu_token(KEY_ID, b"a rotated-away secret", now=1_000_000)
    assert kind_of(lambda: auth.check_baidu_token(KNOWN, other, now=1_000_000)).kind is Kind.AUTH_REFUSED
    assert kind_of(lambda: auth.check_baidu_token(KNOWN, None)).kind is Kind.AUTH_MISSING
    assert kind_of(lambda: auth.check_baidu_token(KNOWN, "24.garbage")).kind is Kind.AUTH_REFUSED


def test_tc3_signs_the_json_body_the_sdk_sends() -> None:
    headers, body, _ = tc3_signed(params={"ImageUrl": "https://example.com/x.jpg"})
    assert json.loads(body) == {"ImageUrl": "https://example.com/x.jpg"}
    assert headers["Content-Type"] == "application/json"


# ---- a replayed request through the server: refused in the vendor's own shape ----


def test_replays_through_the_server() -> None:
    keys = {"tencent": [f"{KEY_ID}:{SECRET}"], "aliyun_ocr": [f"{KEY_ID}:{SECRET}"]}
    client = TestClient(make_app(FakeReader(make_reading("front")), api_keys=keys))
    headers, body, _ = tc3_signed(params={"ImageBase64": base64.b64encode(PNG).decode()}, host="testserver")
    first = client.post("/", content=body, headers=headers).json()["Response"]
    again = client.post("/", content=body, headers=headers).json()["Response"]
    assert first["IdNum"] == "110102197810272321"
    assert again["Error"] == {"Code": "AuthFailure.SignatureFailure",
                              "Message": "This signed request was already received."}
    # the memory of accepted signatures belongs to the app (one per worker), as Huawei's and PAI-EAS's does
    other = TestClient(make_app(FakeReader(make_reading("front")), api_keys=keys))
    assert other.post("/", content=body, headers=headers).json()["Response"]["IdNum"] == "110102197810272321"
    assert "Error" in other.post("/", content=body, headers=headers).json()["Response"]
    headers, _ = acs3_signed(PNG, query={}, host="testserver")
    assert client.post("/", content=PNG, headers=headers).status_code == 200
    replayed = client.post("/", content=PNG, headers=headers)
    assert (replayed.status_code, replayed.json()["Code"]) == (400, "SignatureNonceUsed")
    tampered, _ = acs3_signed(PNG, query={}, host="testserver")
    changed = client.post("/", content=PNG + b"\0", headers=tampered)
    assert (changed.status_code, changed.json()["Code"]) == (400, "SignatureDoesNotMatch")
