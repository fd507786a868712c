"""Seed 002, Huawei Cloud OCR POST /v1.0/ocr/id-card (and the v2 path)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, image_server, make_app, make_reading

from idcard_ocr.errors import ImageTooSmall

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
