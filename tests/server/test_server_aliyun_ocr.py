"""Alibaba Cloud OCR RecognizeIdcard (2021-07-07) at POST / (x-acs-action), driven by alibabacloud-ocr-api20210707
against a live loopback server: the Data layout parsed from its response, its ClientException for refusals, ACS3
signatures with keys on and off; then the real reader on rendered cards."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils
from fastapi.testclient import TestClient
from sdk_clients import aliyun, aliyun_request, jpeg
from server_helpers import PNG, FakeReader, image_server, live_server, make_app, make_reading, with_checks
from test_server_malformed import BODIES

from idcard_ocr.model import Quality, Reading
from idcard_ocr.server import Settings, create_app
from idcard_ocr.server.vendors import aliyun_ocr as adapter

AK, SK = "LTAI5tTestAccessKey01", "aliyun-access-key-secret-01"
KEYS = {"aliyun_ocr": [f"{AK}:{SK}"]}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeReader]]:
    reader = FakeReader()
    with live_server(make_app(reader, api_keys=KEYS, url_allowlist=["127.0.0.1/32"])) as base:
        yield base, reader


def recognize(base: str, request: Any, ak: str = AK, sk: str = SK) -> dict[str, Any]:
    body = aliyun(base, ak, sk).recognize_idcard(request).body
    assert body.request_id and body.code is None and body.message is None  # success carries neither
    data: dict[str, Any] = json.loads(body.data)
    return data


def refused(fn: Callable[[], Any]) -> ClientException:
    with pytest.raises(ClientException) as info:
        fn()
    return info.value


def test_front_layout_quality_and_figure(served: tuple[str, FakeReader]) -> None:
    base, reader = served
    reader.result = with_checks(make_reading("front"), kind="photocopy")
    data = recognize(base, aliyun_request(PNG, output_figure=True, output_quality_info=True))
    assert (data["width"], data["height"], data["orgWidth"], data["orgHeight"]) == (1000, 630, 1000, 630)
    face = data["data"]["face"]
    assert face["data"] == {
        "name": "金阳", "sex": "女", "ethnicity": "汉", "birthDate": "1978年10月27日",
        "address": "北京市西城区复兴门外大街999号院11号楼3单元502室", "idNumber": "110102197810272321",
    }
    assert "back" not in data["data"]
    info = {item["key"]: item for item in face["prism_keyValueInfo"]}
    assert info["name"]["valuePos"] == [{"x": 100, "y": 50}, {"x": 400, "y": 52}, {"x": 400, "y": 92},
                                        {"x": 100, "y": 90}]
    assert info["idNumber"]["valueProb"] == 99 and info["birthDate"]["value"] == "1978年10月27日"
    assert (face["angle"], face["ftype"]) == (0, 1)
    assert face["sliceRect"] == {"x0": 10, "y0": 10, "x1": 900, "y1": 10, "x2": 900, "y2": 580, "x3": 10, "y3": 580}
    assert face["warning"]["isCopy"] == 1 and face["warning"]["isReshoot"] == 0
    assert face["warning"]["qualityScore"] == 90 and face["warning"]["completenessScore"] == 100
    assert face["warning"]["tamperScore"] == pytest.approx(2.5)
    [figure] = face["figure"]
    assert (figure["type"], figure["x"], figure["y"], figure["w"], figure["h"]) == ("face", 600, 120, 290, 330)
    assert figure["box"] == {"x": 745, "y": 285, "w": 290, "h": 330, "angle": 0}


def test_back_default_options_and_incomplete_card(served: tuple[str, FakeReader]) -> None:
    base, reader = served
    reader.result = make_reading("back", rotation=90)
    back = recognize(base, aliyun_request(PNG))["data"]["back"]
    assert back["data"] == {"issueAuthority": "北京市公安局西城分局", "validPeriod": "2004.10.27-2024.10.26"}
    assert back["angle"] == 90 and "warning" not in back and "figure" not in back
    reader.result = with_checks(make_reading("front")).model_copy(
        update={"quality": Quality(score=50, cut_off=True)})
    face = recognize(base, aliyun_request(PNG, output_quality_info=True))["data"]["face"]
    assert face["warning"]["completenessScore"] == 0


def test_both_sides_and_url(served: tuple[str, FakeReader]) -> None:
    base, reader = served
    reader.result = make_reading("both")
    with image_server({"/id.png": (200, {"Content-Type": "image/png"}, PNG)}) as images:
        data = recognize(base, aliyun_request(url=images + "/id.png"))
    assert set(data["data"]) == {"face", "back"}
    assert reader.calls[-1][0] == PNG


def test_refusals_are_client_exceptions(served: tuple[str, FakeReader], monkeypatch: pytest.MonkeyPatch) -> None:
    base, reader = served
    reader.result = Reading(side="none", image_size=(640, 480))
    err = refused(lambda: recognize(base, aliyun_request(PNG)))
    assert (err.status_code, err.code) == (400, "unmatchedImageType")
    reader.result = make_reading("front")
    err = refused(lambda: recognize(base, aliyun_request(b"GIF89a not really")))
    assert (err.status_code, err.code) == (415, "unsupportedImageFormat")
    assert refused(lambda: recognize(base, aliyun_request())).code == "MissingImageUrl"
    reader.calls.clear()
    err = refused(lambda: recognize(base, aliyun_request(PNG), sk="wrong"))
    assert (err.status_code, err.code) == (400, "SignatureDoesNotMatch")
    err = refused(lambda: recognize(base, aliyun_request(PNG), ak="LTAInobody"))
    assert (err.status_code, err.code) == (404, "InvalidAccessKeyId.NotFound")
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: "2020-01-01T00:00:00Z"))  # the SDK's clock
    assert refused(lambda: recognize(base, aliyun_request(PNG))).code == "InvalidTimeStamp.Expired"
    assert reader.calls == []


def test_raw_http_errors(served: tuple[str, FakeReader]) -> None:
    base, _ = served
    r = httpx.post(base + "/", content=PNG, headers={"x-acs-action": "RecognizeIdcard"})
    assert r.status_code == 400 and r.json()["Code"] == "IncompleteSignature"
    assert set(r.json()) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    r = httpx.post(base + "/", content=PNG)
    assert r.status_code == 400 and r.json()["error"] == "missing_action"


def test_keys_off_and_action_check() -> None:
    with live_server(make_app(FakeReader(make_reading("front")))) as base:
        data = recognize(base, aliyun_request(PNG), ak="anyone", sk="anything")
        assert data["data"]["face"]["data"]["idNumber"] == "110102197810272321"
        r = httpx.post(base + "/", content=PNG, headers={"x-acs-action": "RecognizeBankCard"})
        assert (r.status_code, r.json()["Code"]) == (404, "InvalidAction.NotFound")


def test_example_answer() -> None:
    body = adapter.example_answer(make_reading("front"))
    assert json.loads(body["Data"])["data"]["face"]["data"]["idNumber"] == "110102197810272321"
    assert adapter.example_answer(Reading(side="none", image_size=(1, 1)))["Code"] == "unmatchedImageType"


# ---- the real reader on rendered cards, keys on ----


@pytest.fixture(scope="module")
def real_base() -> Iterator[str]:
    with live_server(create_app(Settings(api_keys=KEYS))) as base:
        yield base


@pytest.mark.e2e
def test_rendered_cards_with_the_sdk(real_base: str, render: Callable[[int, str], Any]) -> None:
    front = render(3, "rot90")
    data = recognize(real_base, aliyun_request(jpeg(front.image), output_quality_info=True))
    face = data["data"]["face"]
    truth = front.truth.fields
    year, month, day = truth["birth"].split("-")
    assert face["data"] == {
        "name": truth["name"], "sex": truth["sex"], "ethnicity": truth["nation"],
        "birthDate": f"{year}年{int(month)}月{int(day)}日", "address": truth["address"], "idNumber": truth["number"],
    }
    assert face["angle"] == front.truth.rotation and face["warning"]["isCopy"] == 0
    back = render(2, "clean")
    data = recognize(real_base, aliyun_request(jpeg(back.image)))
    assert data["data"]["back"]["data"]["issueAuthority"] == back.truth.fields["authority"]
    none = render(1, "neg_document")
    assert refused(lambda: recognize(real_base, aliyun_request(jpeg(none.image)))).code == "unmatchedImageType"


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies_are_not_images(name: str) -> None:
    content_type, body = BODIES[name]  # the body is the image itself: whatever it holds, it is not one
    client = TestClient(make_app(FakeReader()), raise_server_exceptions=False)
    r = client.post("/", content=body, headers={"Content-Type": content_type, "x-acs-action": "RecognizeIdcard"})
    assert (r.status_code, r.json()["Code"]) == (415, "unsupportedImageFormat"), r.text[:200]
