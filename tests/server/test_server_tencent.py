"""Tencent Cloud OCR IDCardOCR at POST / (X-TC-Action), driven by tencentcloud-sdk-python-ocr against a live loopback
server: its response objects, its exceptions for refusals, TC3 signatures with keys on and off; then the real
reader on rendered cards."""

from __future__ import annotations

import base64
import itertools
import json
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sdk_clients import jpeg, tencent
from server_helpers import PNG, FakeReader, image_server, live_server, make_app, make_reading, png, with_checks
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.ocr.v20181119 import models
from test_server_malformed import BODIES

from idcard_ocr.model import Quality, Reading, Risk, Warnings
from idcard_ocr.server import Settings, create_app
from idcard_ocr.server.vendors import tencent as adapter

SECRET_ID, SECRET_KEY = "AKIDtestTencent0001", "tencent-secret-key-0001"
KEYS = {"tencent": [f"{SECRET_ID}:{SECRET_KEY}"]}


class Served:
    """A live server whose reader answers ``reading`` (swap it per test)."""

    def __init__(self, base: str, reader: FakeReader) -> None:
        self.base, self.reader = base, reader

    def answer(self, reading: Reading) -> FakeReader:
        self.reader.result = reading
        self.reader.calls.clear()
        self.reader.images.clear()
        return self.reader


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    reader = FakeReader()
    with live_server(make_app(reader, api_keys=KEYS, url_allowlist=["127.0.0.1/32"])) as base:
        yield Served(base, reader)


_SIZES = itertools.count(300)


def request(config: dict[str, bool] | None = None, **params: Any) -> models.IDCardOCRRequest:
    """A request with an image of its own: TC3 carries no nonce, so the same request signed in the same second
    is a replay and refused."""
    req = models.IDCardOCRRequest()
    req.ImageBase64 = base64.b64encode(png(next(_SIZES), 252)).decode()
    if config is not None:
        req.Config = json.dumps(config)
    for name, val in params.items():
        setattr(req, name, val)
    return req


def call(served: Served, req: models.IDCardOCRRequest, secret_key: str = SECRET_KEY,
         secret_id: str = SECRET_ID) -> models.IDCardOCRResponse:
    return tencent(served.base, secret_id, secret_key).IDCardOCR(req)


def refused(fn: Callable[[], Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        fn()
    return info.value


def test_front_fields_and_crops_in_the_sdk_response(served: Served) -> None:
    reader = served.answer(with_checks(make_reading("front")))
    r = call(served, request({"CropIdCard": True, "CropPortrait": True, "Quality": True}, CardSide="FRONT"))
    assert (r.Name, r.Sex, r.Nation, r.Birth) == ("金阳", "女", "汉", "1978/10/27")
    assert (r.Address, r.IdNum) == ("北京市西城区复兴门外大街999号院11号楼3单元502室", "110102197810272321")
    assert (r.Authority, r.ValidDate) == ("", "")
    info = json.loads(r.AdvancedInfo)
    reading = reader.result
    assert isinstance(reading, Reading)
    assert (info["IdCard"], info["Portrait"], info["Quality"]) == (reading.card_image, reading.portrait_image, 90)
    assert "WarnInfos" not in info  # no warning was switched on
    assert r.RequestId and r.ReflectDetailInfos == []
    assert (reader.calls[0][1], reader.images) == ("front", [True])


def test_default_config_back_side(served: Served) -> None:
    reader = served.answer(make_reading("back"))
    r = call(served, request())
    assert (r.Authority, r.ValidDate) == ("北京市公安局西城分局", "2004.10.27-2024.10.26")
    assert (r.Name, r.IdNum, r.AdvancedInfo) == ("", "", "{}")
    assert (reader.calls[0][1], reader.images) == ("auto", [False])  # no crop asked, none made


def _risky(kind: str, **quality: bool) -> Reading:
    reading = with_checks(make_reading("front"), kind=kind)
    assert reading.risk is not None
    return reading.model_copy(update={
        "quality": Quality(score=40, **quality),  # type: ignore[arg-type]
        "risk": Risk(kind=kind, scores=reading.risk.scores, edit_tool=None),  # type: ignore[arg-type]
        "warnings": Warnings(validity_term_mismatch=True),
    })


ALL_WARNINGS = {name: True for name in ("CopyWarn", "BorderCheckWarn", "ReshootWarn", "DetectPsWarn",
                                        "TempIdWarn", "InvalidDateWarn", "ReflectWarn")}


@pytest.mark.parametrize(("kind", "flags", "codes"), [
    ("photocopy", {"cut_off": True}, [-9109, -9101, -9102]),
    ("screen", {"glare": True}, [-9109, -9103, -9107]),
    ("edited", {"covered": True}, [-9109, -9105, -9106]),
    ("temporary", {}, [-9109, -9104]),
])
def test_warn_infos_from_the_card_checks(served: Served, kind: str, flags: dict[str, bool],
                                         codes: list[int]) -> None:
    served.answer(_risky(kind, **flags))
    assert json.loads(call(served, request(ALL_WARNINGS)).AdvancedInfo)["WarnInfos"] == codes
    only_copy = json.loads(call(served, request({"CopyWarn": True})).AdvancedInfo)["WarnInfos"]
    assert only_copy == ([-9102] if kind == "photocopy" else [])


def test_value_check_from_completeness_and_glare(served: Served) -> None:
    whole = _risky("original").model_copy(update={"warnings": Warnings(incomplete=False)})
    served.answer(whole.model_copy(update={"quality": Quality(score=90, glare=False)}))
    assert json.loads(call(served, request({"ValueCheck": True})).AdvancedInfo) == {"IsValueValid": True}
    served.answer(whole.model_copy(update={"quality": Quality(score=90, glare=True)}))
    assert json.loads(call(served, request({"ValueCheck": True})).AdvancedInfo) == {"IsValueValid": False}
    served.answer(whole.model_copy(update={"quality": Quality()}))  # glare not measured: not answered
    assert json.loads(call(served, request({"ValueCheck": True})).AdvancedInfo) == {}


def test_reflect_detail_when_asked_with_reflect_warn(served: Served) -> None:
    served.answer(_risky("original", glare=True))
    r = call(served, request({"ReflectWarn": True}, EnableReflectDetail=True))
    assert [d.Position for d in r.ReflectDetailInfos] == ["RecognitionField"]
    assert call(served, request({"ReflectWarn": True})).ReflectDetailInfos == []


def test_multi_card_detect_fills_both_sides(served: Served) -> None:
    served.answer(make_reading("both"))
    one = call(served, request())
    assert (one.Name, one.Authority) == ("金阳", "")
    both = call(served, request({"MultiCardDetect": True}))
    assert (both.Name, both.Authority, both.ValidDate) == ("金阳", "北京市公安局西城分局", "2004.10.27-2024.10.26")


def test_refusals_are_sdk_exceptions(served: Served) -> None:
    served.answer(make_reading("front"))
    assert refused(lambda: call(served, request(CardSide="BACK"))).code == "FailedOperation.CardSideError"
    assert refused(lambda: call(served, request(CardSide="TOP"))).code == (
        "InvalidParameterValue.InvalidParameterValueLimit")
    bad = request()
    bad.Config = "{not json"
    assert refused(lambda: call(served, bad)).code == "InvalidParameterValue.InvalidParameterValueLimit"
    served.answer(Reading(side="none", image_size=(640, 480)))
    err = refused(lambda: call(served, request()))
    assert (err.code, bool(err.requestId)) == ("FailedOperation.ImageNoIdCard", True)
    garbage = request()
    garbage.ImageBase64 = base64.b64encode(b"not an image at all").decode()
    assert refused(lambda: call(served, garbage)).code == "FailedOperation.ImageDecodeFailed"
    empty = models.IDCardOCRRequest()
    assert refused(lambda: call(served, empty)).code == "InvalidParameterValue.InvalidParameterValueLimit"


def test_signature_refusals(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    served.answer(make_reading("front"))
    assert refused(lambda: call(served, request(), secret_key="wrong")).code == "AuthFailure.SignatureFailure"
    assert refused(lambda: call(served, request(), secret_id="AKIDnobody")).code == "AuthFailure.SecretIdNotFound"
    import tencentcloud.common.abstract_client as signer

    real = time.time
    monkeypatch.setattr(signer, "time", types.SimpleNamespace(time=lambda: real() - 3600))  # the SDK's clock
    assert refused(lambda: call(served, request())).code == "AuthFailure.SignatureExpire"
    assert served.reader.calls == []  # nothing refused was read


def test_image_url(served: Served) -> None:
    served.answer(make_reading("front"))
    with image_server({"/card.png": (200, {"Content-Type": "image/png"}, PNG)}) as images:
        req = models.IDCardOCRRequest()
        req.ImageUrl = images + "/card.png"
        assert call(served, req).IdNum == "110102197810272321"
    assert served.reader.calls[0][0] == PNG


def test_raw_http_shape_and_dispatch(served: Served) -> None:
    r = httpx.post(served.base + "/", json={"ImageBase64": "x"})
    assert r.status_code == 400 and r.json()["error"] == "missing_action"
    r = httpx.post(served.base + "/", json={}, headers={"X-TC-Action": "IDCardOCR"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_keys_off_accepts_any_caller_and_checks_the_action() -> None:
    with live_server(make_app(FakeReader(make_reading("front")))) as base:
        r = tencent(base, "anyone", "anything").IDCardOCR(request())
        assert r.IdNum == "110102197810272321"
        raw = httpx.post(base + "/", json={}, headers={"X-TC-Action": "GeneralBasicOCR"}).json()
        assert raw["Response"]["Error"]["Code"] == "InvalidAction"
        raw = httpx.post(base + "/", json={}, headers={"X-TC-Action": "IDCardOCR", "X-TC-Version": "2017-01-01"})
        assert raw.json()["Response"]["Error"]["Code"] == "NoSuchVersion"
        raw = httpx.post(base + "/", content=b"[1]", headers={"X-TC-Action": "IDCardOCR"}).json()
        assert raw["Response"]["Error"]["Code"] == "InvalidParameter"


def test_example_answer() -> None:
    body = adapter.example_answer(make_reading("front"))
    assert body["Response"]["IdNum"] == "110102197810272321" and body["Response"]["AdvancedInfo"] == "{}"
    none = adapter.example_answer(Reading(side="none", image_size=(10, 10)))
    assert none["Response"]["Error"]["Code"] == "FailedOperation.ImageNoIdCard"


# ---- the real reader on rendered cards, keys on ----


@pytest.fixture(scope="module")
def real_base() -> Iterator[str]:
    with live_server(create_app(Settings(api_keys=KEYS))) as base:
        yield base


@pytest.mark.e2e
def test_rendered_cards_with_the_sdk(real_base: str, render: Callable[[int, str], Any]) -> None:
    client = tencent(real_base, SECRET_ID, SECRET_KEY)
    front = render(1, "clean")
    req = models.IDCardOCRRequest()
    req.ImageBase64 = base64.b64encode(jpeg(front.image)).decode()
    req.Config = json.dumps({"CropPortrait": True, "Quality": True, "CopyWarn": True})
    r = client.IDCardOCR(req)
    truth = front.truth.fields
    year, month, day = truth["birth"].split("-")
    assert (r.Name, r.Sex, r.Nation, r.Address, r.IdNum) == (
        truth["name"], truth["sex"], truth["nation"], truth["address"], truth["number"])
    assert r.Birth == f"{year}/{int(month)}/{int(day)}"
    info = json.loads(r.AdvancedInfo)
    assert base64.b64decode(info["Portrait"])[:2] == b"\xff\xd8" and info["WarnInfos"] == []
    back = render(2, "clean")
    req = models.IDCardOCRRequest()
    req.ImageBase64 = base64.b64encode(jpeg(back.image)).decode()
    req.CardSide = "BACK"
    r = client.IDCardOCR(req)
    assert r.Authority == back.truth.fields["authority"]
    assert r.ValidDate.startswith(back.truth.fields["valid_from"].replace("-", "."))
    req = models.IDCardOCRRequest()
    req.ImageBase64 = base64.b64encode(jpeg(render(1, "neg_document").image)).decode()
    assert refused(lambda: client.IDCardOCR(req)).code == "FailedOperation.ImageNoIdCard"


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies_get_tencents_error(name: str) -> None:
    content_type, body = BODIES[name]
    client = TestClient(make_app(FakeReader()), raise_server_exceptions=False)
    r = client.post("/", content=body, headers={"Content-Type": content_type, "X-TC-Action": "IDCardOCR"})
    assert r.status_code == 200 and r.json()["Response"]["Error"]["Code"] == "InvalidParameter", r.text[:200]
