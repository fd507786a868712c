"""Seed 002, Huawei Cloud OCR POST /v1.0/ocr/id-card (and the v2 path); its SDK's AK/SK signatures."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from server_helpers import FRONT, PNG, PNG_B64, FakeReader, busy_app, image_server, make_app, make_reading

from idcard_ocr.errors import ImageTooSmall
from idcard_ocr.server import auth
from idcard_ocr.server.problems import ApiError, Kind

URL = "/v1.0/ocr/id-card"
TOKEN = {"X-Auth-Token": "MIINRwYJKoZIhvcNAQcCoIINODCCDTQCAQExDTALBglghkgBZQMEAgEwgguVBgkqhkiG"}


def test_seed_request_base64_front() -> None:
    values = {
        "name": "张三",
        "sex": "男",
        "nation": "汉",
        "birth": "2000-03-06",
        "address": "XX省XX市XX区XX街道XX号",
        "number": "610XXXXXXXXXXXXXXX",
    }
    reader = FakeReader(make_reading("front", values))
    client = TestClient(make_app(reader, api_keys={"huawei": [TOKEN["X-Auth-Token"]]}))
    r = client.post(
        URL, headers={"Content-Type": "application/json", **TOKEN}, json={"image": PNG_B64, "side": "front"}
    )
    assert r.status_code == 200
    assert r.json() == {
        "result": {
            "name": "张三",
            "sex": "男",
            "ethnicity": "汉",
            "birth": "2000-03-06",
            "address": "XX省XX市XX区XX街道XX号",
            "number": "610XXXXXXXXXXXXXXX",
        }
    }
    assert reader.calls == [(PNG, "front")]
    assert r.headers["X-Request-Id"]


def test_seed_request_url_back() -> None:
    values = {"authority": "XX省XX市XX区XX派出所", "valid_from": "2004-08-26", "valid_to": "2034-08-26"}
    client = TestClient(make_app(FakeReader(make_reading("back", values)), url_allowlist=["127.0.0.1/32"]))
    with image_server({"/ObjectName": (200, {"Content-Type": "image/jpeg"}, PNG)}) as base:
        r = client.post(URL, headers=TOKEN, json={"url": f"{base}/ObjectName", "side": "back"})
    assert r.status_code == 200
    assert r.json() == {
        "result": {"issue": "XX省XX市XX区XX派出所", "valid_from": "2004-08-26", "valid_to": "2034-08-26"}
    }


def test_side_choice_and_v2_path() -> None:
    client = TestClient(make_app(FakeReader(make_reading("both"))))
    assert "name" in client.post(URL, json={"image": PNG_B64}).json()["result"]
    assert "issue" in client.post(URL, json={"image": PNG_B64, "side": "back"}).json()["result"]
    assert (
        "name" in client.post("/v2/0a1b2c/ocr/id-card", json={"image": PNG_B64, "side": ""}).json()["result"]
    )


def test_long_term() -> None:
    reading = make_reading("back", {"authority": "某局", "valid_from": "2010-01-01", "valid_to": "长期"})
    body = TestClient(make_app(FakeReader(reading))).post(URL, json={"image": PNG_B64}).json()
    assert body["result"]["valid_to"] == "长期"


def _error(response, status: int, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json() == {"error_code": code, "error_msg": message}


INVALID = ("AIS.0101", "The input parameter is invalid.")


@pytest.mark.parametrize(
    "body",
    [{}, {"image": PNG_B64, "url": "http://127.0.0.1/x"}, {"image": PNG_B64, "side": "middle"}, {"image": 5}],
)
def test_invalid_parameters(body: dict) -> None:
    _error(TestClient(make_app()).post(URL, json=body), 400, *INVALID)


def test_invalid_json() -> None:
    r = TestClient(make_app()).post(URL, content=b"{oops", headers={"Content-Type": "application/json"})
    _error(r, 400, *INVALID)


def test_image_format_not_supported() -> None:
    client = TestClient(make_app())
    for image in ("###", "aGVsbG8="):
        _error(client.post(URL, json={"image": image}), 400, "AIS.0102", "The image format is not supported.")


def test_image_size() -> None:
    message = "The image size does not meet the requirements."
    for reading in (make_reading(image_size=(14, 300)), make_reading(image_size=(8001, 500))):
        _error(
            TestClient(make_app(FakeReader(reading))).post(URL, json={"image": PNG_B64}),
            400,
            "AIS.0103",
            message,
        )
    r = TestClient(make_app(FakeReader(ImageTooSmall("x")))).post(URL, json={"image": PNG_B64})
    _error(r, 400, "AIS.0103", message)


def test_not_a_card_or_wrong_side() -> None:
    message = "The image is not supported or the image quality is poor."
    none = TestClient(make_app(FakeReader(make_reading("none"))))
    _error(none.post(URL, json={"image": PNG_B64}), 400, "AIS.0104", message)
    back = TestClient(make_app(FakeReader(make_reading("back"))))
    _error(back.post(URL, json={"image": PNG_B64, "side": "front"}), 400, "AIS.0104", message)


def test_url_refused() -> None:
    r = TestClient(make_app()).post(URL, json={"url": "http://169.254.169.254/latest/meta-data/"})
    _error(r, 400, "ModelArts.4603", "Obtaining the file from the URL failed.")


def test_body_too_large() -> None:
    r = TestClient(make_app(max_body_bytes=4096)).post(URL, json={"image": "A" * 8000})
    _error(r, 400, "ModelArts.4104", "Invalid Request Content Length.")


def test_token() -> None:
    client = TestClient(make_app(api_keys={"huawei": ["tok"]}))
    _error(client.post(URL, json={"image": PNG_B64}), 401, "ModelArts.4101", "Token header cannot be empty.")
    _error(
        client.post(URL, json={"image": PNG_B64}, headers={"X-Auth-Token": "bad"}),
        401,
        "ModelArts.0203",
        "Invalid token.",
    )
    assert client.post(URL, json={"image": PNG_B64}, headers={"X-Auth-Token": "tok"}).status_code == 200


def test_busy() -> None:
    r = TestClient(busy_app()).post(URL, json={"image": PNG_B64})
    _error(r, 429, "APIG.0308", "The throttling threshold has been reached.")
    assert r.headers["Retry-After"] == "1"


def test_internal_error() -> None:
    r = TestClient(make_app(FakeReader(RuntimeError("boom")))).post(URL, json={"image": PNG_B64})
    _error(r, 500, "AIS.0105", "Recognition failed.")


# ---- AK/SK signatures (SDK-HMAC-SHA256), made by huaweicloudsdkcore's own Signer ----

V2 = "/v2/proj-1/ocr/id-card"
PAIRS = {"huawei": ["tok", "AK1:SK1", "AK2:SK2"]}  # a plain token beside AK:SK pairs


def _sign(
    ak: str, sk: str, body: bytes, *, path: str = V2, query: list | None = None, date: datetime | None = None
) -> tuple[str, dict[str, str]]:
    """(URL, headers) of a request signed by huaweicloudsdkcore, for TestClient's host."""
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": "proj-1", "User-Agent": "sdk"}
    if date is not None:  # the Signer keeps a date it is given (otherwise: utcnow)
        headers["X-Sdk-Date"] = date.strftime("%Y%m%dT%H%M%SZ")
    request = SdkRequest("POST", "http", "testserver", path, query_params=query or [], header_params=headers,
                         body=body)
    signed = Signer(BasicCredentials(ak, sk)).sign(request)
    return signed.uri, dict(signed.header_params)


def _body(**fields: str) -> bytes:
    return json.dumps({"image": PNG_B64, **fields}).encode()


_SIGNATURE_FAIL = "Incorrect IAM authentication information: verify aksk signature fail"


def test_signed_request_accepted_and_plain_token_beside_it() -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    for ak, sk in (("AK1", "SK1"), ("AK2", "SK2")):
        url, headers = _sign(ak, sk, _body())
        r = client.post(url, content=_body(), headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["number"] == FRONT["number"]
    assert client.post(V2, json={"image": PNG_B64}, headers={"X-Auth-Token": "tok"}).status_code == 200
    _error(client.post(V2, json={"image": PNG_B64}, headers={"X-Auth-Token": "AK9"}), 401, "ModelArts.0203",
           "Invalid token.")


def test_signed_query_is_canonicalized_as_the_sdk_does() -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    url, headers = _sign("AK1", "SK1", _body(), query=[("b", "2"), ("a", "x y~*"), ("a", "1")])
    assert "?" in url
    assert client.post(url, content=_body(), headers=headers).status_code == 200


@pytest.mark.parametrize(
    "case", ["tampered body", "wrong secret", "unknown AK", "path changed", "host changed", "date changed"]
)
def test_signed_request_refused(case: str) -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    body = _body()
    url, headers = _sign("AK1", "SK2" if case == "wrong secret" else "SK1", body)
    if case == "unknown AK":
        url, headers = _sign("AK3", "SK1", body)
    elif case == "tampered body":
        body = _body(side="back")
    elif case == "path changed":
        url = "/v2/proj-2/ocr/id-card"
    elif case == "host changed":
        headers["Host"] = "elsewhere"
    elif case == "date changed":
        headers["X-Sdk-Date"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y%m%dT%H%M%SZ")
    _error(client.post(url, content=body, headers=headers), 401, "APIG.0301", _SIGNATURE_FAIL)


@pytest.mark.parametrize("minutes", [-20, 20])
def test_stale_date_refused(minutes: int) -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    url, headers = _sign("AK1", "SK1", _body(), date=datetime.now(timezone.utc) + timedelta(minutes=minutes))
    _error(client.post(url, content=_body(), headers=headers), 401, "APIG.0301",
           "Incorrect IAM authentication information: calc ak sk signature fail:signature expired")


def test_replayed_request_refused() -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    url, headers = _sign("AK1", "SK1", _body())
    assert client.post(url, content=_body(), headers=headers).status_code == 200
    _error(client.post(url, content=_body(), headers=headers), 401, "APIG.0301",
           _SIGNATURE_FAIL + ", signature already used")


def test_unsigned_payload_and_unsigned_host_refused() -> None:
    client = TestClient(make_app(api_keys=PAIRS))
    body = _body()
    url, headers = _sign("AK1", "SK1", body)
    headers["Authorization"] = headers["Authorization"].replace("host;", "")
    _error(client.post(url, content=body, headers=headers), 401, "APIG.0301", _SIGNATURE_FAIL)
    request = SdkRequest("POST", "http", "testserver", V2, query_params=[], body=body,
                         header_params={"Content-Type": "application/octet-stream", "X-Project-Id": "p"})
    signed = Signer(BasicCredentials("AK1", "SK1")).sign(request)  # X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD
    assert signed.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    _error(client.post(signed.uri, content=body, headers=signed.header_params), 401, "APIG.0301", _SIGNATURE_FAIL)


def test_signed_request_with_only_tokens_configured_or_keys_off() -> None:
    url, headers = _sign("AK1", "SK1", _body())
    r = TestClient(make_app(api_keys={"huawei": ["tok"]})).post(url, content=_body(), headers=headers)
    _error(r, 401, "APIG.0301", _SIGNATURE_FAIL)
    assert TestClient(make_app()).post(url, content=_body(), headers=headers).status_code == 200


def test_verify_huawei_directly_with_a_fixed_clock() -> None:
    """The scheme function on its own: the date window is measured from the ``now`` it is given."""
    signed_at = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    _, headers = _sign("AK1", "SK1", b"{}", date=signed_at)
    scope = {"type": "http", "method": "POST", "path": V2, "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    known = auth.pairs(["AK1:SK1"])
    auth.verify_huawei(Request(scope), b"{}", known, auth.ReplayGuard(), now=signed_at + timedelta(minutes=14))
    with pytest.raises(ApiError) as err:
        auth.verify_huawei(Request(scope), b"{}", known, auth.ReplayGuard(), now=signed_at + timedelta(minutes=16))
    assert err.value.kind is Kind.AUTH_EXPIRED
    with pytest.raises(ApiError) as err:
        auth.verify_huawei(Request(scope), b"{ }", known, auth.ReplayGuard(), now=signed_at)
    assert (err.value.kind, err.value.param) == (Kind.AUTH_REFUSED, "Authorization")
