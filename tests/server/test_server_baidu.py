"""Baidu OCR idcard (/rest/2.0/ocr/v1/idcard) and its OAuth token endpoint, driven by baidu-aip's AipOcr against a
live loopback server: the access_token path and the bce-auth-v1 path, Baidu's error codes; then the real reader
on rendered cards."""

from __future__ import annotations

import datetime as dt
import itertools
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sdk_clients import baidu, baidu_urls, jpeg
from server_helpers import FakeReader, live_server, make_app, make_reading, png, with_checks
from test_server_malformed import BODIES

from idcard_ocr.model import Reading
from idcard_ocr.server import Settings, auth, create_app
from idcard_ocr.server.vendors import baidu as adapter

API_KEY, SECRET_KEY = "bd0TestApiKey0001", "baidu-secret-key-0001"
KEYS = {"baidu": [f"{API_KEY}:{SECRET_KEY}"]}
_SIZES = itertools.count(300)


def image() -> bytes:
    """An image of its own per call: bce-auth-v1 signs no nonce, so an identical request in the same second is a
    replay."""
    return png(next(_SIZES), 252)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeReader]]:
    reader = FakeReader()
    with live_server(make_app(reader, api_keys=KEYS)) as base, baidu_urls(base):
        yield base, reader


def test_token_endpoint(served: tuple[str, FakeReader]) -> None:
    base, _ = served
    params = {"grant_type": "client_credentials", "client_id": API_KEY, "client_secret": SECRET_KEY}
    r = httpx.get(base + "/oauth/2.0/token", params=params)
    body = r.json()
    assert r.status_code == 200 and body["expires_in"] == 2592000
    assert "brain_all_scope" in body["scope"].split(" ")
    assert auth.check_baidu_token(auth.pairs(KEYS["baidu"]), body["access_token"]) == API_KEY
    r = httpx.post(base + "/oauth/2.0/token", data={**params, "client_secret": "wrong"})
    assert (r.status_code, r.json()) == (401, {"error": "invalid_client",
                                               "error_description": "Client authentication failed"})
    r = httpx.get(base + "/oauth/2.0/token", params={**params, "client_id": "nobody"})
    assert r.json()["error_description"] == "unknown client id"
    r = httpx.get(base + "/oauth/2.0/token", params={**params, "grant_type": "password"})
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")


def test_token_path_front_with_options(served: tuple[str, FakeReader]) -> None:
    _, reader = served
    reader.result = with_checks(make_reading("front", rotation=90), kind="screen")
    client = baidu("10001", API_KEY, SECRET_KEY)
    body = client.idcard(image(), "front", {"detect_direction": "true", "detect_risk": "true",
                                             "detect_photo": "true"})
    assert client._isCloudUser is False  # the token's scope told the SDK to send access_token
    assert body["words_result"]["姓名"]["words"] == "金阳"
    assert body["words_result"]["出生"]["words"] == "19781027"
    assert body["words_result"]["公民身份号码"] == {
        "location": {"left": 150, "top": 350, "width": 300, "height": 42}, "words": "110102197810272321"}
    assert (body["words_result_num"], body["image_status"], body["idcard_number_type"]) == (6, "normal", 1)
    assert (body["direction"], body["risk_type"]) == (3, "screen")
    assert body["photo"] == reader.result.portrait_image and body["photo_location"]["left"] == 600
    assert "msg" not in body and isinstance(body["log_id"], int)
    assert reader.calls[-1][1] == "front" and reader.images[-1] is True


def test_bce_path_back_and_reversed_side(served: tuple[str, FakeReader]) -> None:
    _, reader = served
    reader.result = make_reading("back")
    client = baidu("10001", API_KEY, SECRET_KEY)
    client._isCloudUser = True  # what the SDK decides when a token answer lacks brain_all_scope: sign instead
    body = client.idcard(image(), "back")
    assert body["words_result"]["签发机关"]["words"] == "北京市公安局西城分局"
    assert body["words_result"]["失效日期"]["words"] == "20241026"
    assert "idcard_number_type" not in body
    wrong_side = client.idcard(image(), "front")
    assert (wrong_side["image_status"], wrong_side["words_result"]) == ("reversed_side", {})


def test_no_card_is_answered_not_refused(served: tuple[str, FakeReader]) -> None:
    _, reader = served
    reader.result = Reading(side="none", image_size=(640, 480))
    body = baidu("10001", API_KEY, SECRET_KEY).idcard(image(), "front", {"detect_risk": "true"})
    assert {k: body[k] for k in ("words_result", "words_result_num", "image_status", "idcard_number_type",
                                 "risk_type")} == {
        "words_result": {}, "words_result_num": 0, "image_status": "non_idcard", "idcard_number_type": -1,
        "risk_type": "unknown"}


def test_refusals(served: tuple[str, FakeReader], monkeypatch: pytest.MonkeyPatch) -> None:
    _, reader = served
    reader.result = make_reading("front")
    reader.calls.clear()
    # wrong secret: the token request fails, the SDK falls back to bce-auth-v1 with the same keys: refused too
    wrong = baidu("10001", API_KEY, "wrong").idcard(image(), "front")
    assert (wrong["error_code"], wrong["error_msg"]) == (14, "IAM Certification failed")
    client = baidu("10001", API_KEY, SECRET_KEY)
    client.idcard(image(), "front")  # takes a token
    real = time.time
    # the server's clock past the token's 30 days
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(time=lambda: real() + 31 * 86400,
                                                            monotonic=time.monotonic))
    expired = client.idcard(image(), "front")
    assert (expired["error_code"], expired["error_msg"]) == (111, "Access token expired")
    monkeypatch.undo()
    import aip.base

    # the SDK's own clock an hour back on the bce-auth-v1 path
    utcnow = dt.datetime.utcnow
    monkeypatch.setattr(aip.base, "datetime", types.SimpleNamespace(
        datetime=types.SimpleNamespace(utcnow=lambda: utcnow() - dt.timedelta(hours=1))))
    signer = baidu("10001", API_KEY, SECRET_KEY)
    signer._isCloudUser = True
    assert signer.idcard(image(), "front")["error_code"] == 14
    assert len(reader.calls) == 1  # only the call with a good token was read
    monkeypatch.undo()
    bad = client.idcard(b"definitely not an image", "front")
    assert (bad["error_code"], bad["error_msg"]) == (216201, "image format error")
    missing = client.idcard(image(), "")
    assert missing["error_code"] == 216101
    assert client.idcard(image(), "top")["error_code"] == 216100


def test_tokens_need_no_shared_state_between_workers() -> None:
    """Two apps (as two worker processes) with the same keys: a token issued by one is accepted by the other."""
    one = TestClient(make_app(FakeReader(make_reading("front")), api_keys=KEYS))
    two = TestClient(make_app(FakeReader(make_reading("front")), api_keys=KEYS))
    token = one.get("/oauth/2.0/token", params={"grant_type": "client_credentials", "client_id": API_KEY,
                                                "client_secret": SECRET_KEY}).json()["access_token"]
    form = {"image": "iVBORw0KGgo=", "id_card_side": "front"}
    ok = two.post("/rest/2.0/ocr/v1/idcard", params={"access_token": token}, data=form).json()
    assert ok.get("error_code") != 110  # got past authentication (the 8-byte image is then refused)
    forged_token = token[:-1] + ("1" if token.endswith("0") else "0")  # always differs from the issued one
    forged = two.post("/rest/2.0/ocr/v1/idcard", params={"access_token": forged_token}, data=form).json()
    assert (forged["error_code"], forged["error_msg"]) == (110, "Access token invalid or no longer valid")
    assert two.post("/rest/2.0/ocr/v1/idcard", data=form).json()["error_code"] == 110
    assert two.get("/rest/2.0/ocr/v1/nothing").json()["error_code"] == 3


def test_keys_off_accepts_any_caller() -> None:
    with live_server(make_app(FakeReader(make_reading("front")))) as base, baidu_urls(base):
        body = baidu("1", "anyone", "anything").idcard(image(), "front")
        assert body["words_result"]["公民身份号码"]["words"] == "110102197810272321"


def test_example_answer() -> None:
    assert adapter.example_answer(make_reading("back"))["words_result"]["签发机关"]["words"] == "北京市公安局西城分局"
    assert adapter.example_answer(Reading(side="none", image_size=(1, 1)))["image_status"] == "non_idcard"


# ---- the real reader on rendered cards, keys on ----


@pytest.fixture(scope="module")
def real_base() -> Iterator[str]:
    with live_server(create_app(Settings(api_keys=KEYS))) as base:
        yield base


@pytest.mark.e2e
def test_rendered_cards_with_the_sdk(real_base: str, render: Callable[[int, str], Any]) -> None:
    with baidu_urls(real_base):
        client = baidu("10001", API_KEY, SECRET_KEY)
        front = render(1, "clean")
        body = client.idcard(jpeg(front.image), "front", {"detect_risk": "true"})
        truth = front.truth.fields
        words = {label: item["words"] for label, item in body["words_result"].items()}
        assert words == {"姓名": truth["name"], "性别": truth["sex"], "民族": truth["nation"],
                         "出生": truth["birth"].replace("-", ""), "住址": truth["address"],
                         "公民身份号码": truth["number"]}
        assert (body["image_status"], body["risk_type"], body["idcard_number_type"]) == ("normal", "normal", 1)
        none = client.idcard(jpeg(render(1, "neg_document").image), "front")
        assert (none["image_status"], none["words_result_num"]) == ("non_idcard", 0)


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies_get_baidus_error(name: str) -> None:
    content_type, body = BODIES[name]
    client = TestClient(make_app(FakeReader()), raise_server_exceptions=False)
    r = client.post("/rest/2.0/ocr/v1/idcard", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 200 and r.json()["error_code"] in (216100, 216101), r.text[:200]
