"""The vendors' own Python SDKs against a live server on loopback, used as their documentation shows with
only the endpoint changed: huaweicloudsdkocr (AK/SK signed) and eas-prediction (EAS signed), keys on and off,
the real reader on rendered cards."""

from __future__ import annotations

import base64
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import cv2
import numpy as np
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.signer import signer as huawei_signer
from huaweicloudsdkocr.v1 import IdCardRequestBody, OcrClient, RecognizeIdCardRequest
from server_helpers import live_server

from idcard_ocr.server import Settings, create_app

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")  # eas-prediction with protobuf >= 4
with warnings.catch_warnings():  # its generated code calls protobuf's deprecated descriptor constructors
    warnings.simplefilter("ignore", DeprecationWarning)
    from eas_prediction import PredictClient, StringRequest, predict_client
    from eas_prediction.exception import PredictException

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytestmark = pytest.mark.e2e
AK, SK, PROJECT = "HPUAXXXXXXXXXXXXXXXX", "huawei-secret-key", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "Zjc0ZGF1NzgyMzVhMDVjMGQ3YmIxMDY2M2ZkOTRiNTczMjg5NGQxMw=="
SERVICE = "idcard_ocr_test/idcard_ocr"
CASES = {"front": (1, "clean"), "back": (2, "clean"), "none": (1, "neg_document")}  # rendered, deterministic


class Card:
    def __init__(self, render: Callable[[int, str], Any], seed: int, condition: str) -> None:
        sample = render(seed, condition)
        ok, buf = cv2.imencode(".jpg", sample.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        self.jpeg = buf.tobytes()
        self.b64 = base64.b64encode(self.jpeg).decode()
        self.fields: dict[str, str] = sample.truth.fields


@pytest.fixture(scope="module")
def cards(render: Callable[[int, str], Any]) -> dict[str, Card]:
    return {name: Card(render, seed, condition) for name, (seed, condition) in CASES.items()}


@pytest.fixture(scope="module")
def servers(engine: object) -> Iterator[dict[str, str]]:
    """Two live servers with the real reader: keys configured for both APIs ("on"), and none ("off")."""
    on = Settings(api_keys={"huawei": ["a-plain-token", f"{AK}:{SK}"], "pai_eas": [TOKEN]})
    with live_server(create_app(on)) as on_url, live_server(create_app(Settings())) as off_url:
        yield {"on": on_url, "off": off_url}


# ---- Huawei: huaweicloudsdkocr ----


def _ocr_client(endpoint: str, ak: str = AK, sk: str = SK) -> OcrClient:
    credentials = BasicCredentials(ak, sk, PROJECT)
    return OcrClient.new_builder().with_credentials(credentials).with_endpoint(endpoint).build()


def _recognize(client: OcrClient, card: Card) -> Any:
    request = RecognizeIdCardRequest()
    request.body = IdCardRequestBody(image=card.b64)
    return client.recognize_id_card(request)


@pytest.mark.parametrize("keys", ["on", "off"])
def test_huawei_front(servers: dict[str, str], cards: dict[str, Card], keys: str) -> None:
    card = cards["front"]
    result = _recognize(_ocr_client(servers[keys]), card).result
    got = {"name": result.name, "sex": result.sex, "nation": result.ethnicity, "birth": result.birth,
           "address": result.address, "number": result.number}
    assert got == card.fields


def test_huawei_back(servers: dict[str, str], cards: dict[str, Card]) -> None:
    card = cards["back"]
    result = _recognize(_ocr_client(servers["on"]), card).result
    assert (result.issue, result.valid_from, result.valid_to) == (
        card.fields["authority"], card.fields["valid_from"], card.fields["valid_to"]
    )
    assert result.name is None


def _huawei_refusal(client: OcrClient, card: Card) -> exceptions.ClientRequestException:
    with pytest.raises(exceptions.ClientRequestException) as err:
        _recognize(client, card)
    return err.value


def test_huawei_wrong_key(servers: dict[str, str], cards: dict[str, Card]) -> None:
    for ak, sk in ((AK, "not-the-secret"), ("HPUAUNKNOWN", SK)):
        err = _huawei_refusal(_ocr_client(servers["on"], ak, sk), cards["front"])
        assert (err.status_code, err.error_code) == (401, "APIG.0301")
        assert err.error_msg == "Incorrect IAM authentication information: verify aksk signature fail"


def test_huawei_expired_date(servers: dict[str, str], cards: dict[str, Card], monkeypatch: pytest.MonkeyPatch) -> None:
    class Behind(datetime):
        @classmethod
        def utcnow(cls) -> datetime:  # type: ignore[override]  # the SDK signs with datetime.utcnow()
            return datetime.utcnow() - timedelta(minutes=20)

    monkeypatch.setattr(huawei_signer, "datetime", Behind)
    err = _huawei_refusal(_ocr_client(servers["on"]), cards["front"])
    assert (err.status_code, err.error_code) == (401, "APIG.0301")
    assert "signature expired" in err.error_msg


def test_huawei_not_a_card(servers: dict[str, str], cards: dict[str, Card]) -> None:
    err = _huawei_refusal(_ocr_client(servers["on"]), cards["none"])
    assert (err.status_code, err.error_code) == (400, "AIS.0104")


# ---- PAI-EAS: eas-prediction ----


def _predict(endpoint: str, body: str | bytes, token: str | None = TOKEN) -> dict[str, Any]:
    """PredictClient as EAS documents it; the answer decoded as the seed says (base64 of the JSON envelope)."""
    client = PredictClient(endpoint, SERVICE)
    if token is not None:
        client.set_token(token)
    client.set_timeout(60_000)  # ms: a card read on a busy 2-core CI machine can pass the SDK's default 5 s
    client.init()
    try:
        response = client.predict(StringRequest(body))
    finally:
        client.destroy()
    envelope: dict[str, Any] = json.loads(base64.b64decode(response.response_data))
    envelope["data"] = json.loads(envelope["data"])
    return envelope


def _dotted(iso: str) -> str:
    return iso.replace("-", ".")  # "2004.10.27", as PAI-EAS prints dates ("长期" unchanged)


def _form(card: Card) -> str:
    return urlencode({"info": "test one image", "data": card.b64})


@pytest.mark.parametrize("keys", ["on", "off"])
def test_eas_front(servers: dict[str, str], cards: dict[str, Card], keys: str) -> None:
    card = cards["front"]
    answer = _predict(servers[keys], _form(card), TOKEN if keys == "on" else None)
    assert (answer["code"], answer["message"]) == ("200", "success")
    data = answer["data"]
    got = {"name": data["name"], "sex": data["gender"], "nation": data["race"], "birth": data["birth"],
           "address": data["address"], "number": data["id_no"]}
    assert got == {**card.fields, "birth": _dotted(card.fields["birth"])}
    crop = cv2.imdecode(np.frombuffer(base64.b64decode(data["idcard_image"]), np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and crop.shape[1] > crop.shape[0]  # the straightened card, landscape


def test_eas_back_as_a_bare_image(servers: dict[str, str], cards: dict[str, Card]) -> None:
    card = cards["back"]
    answer = _predict(servers["on"], card.jpeg)  # a StringRequest of the file's bytes
    assert answer["code"] == "200"
    data = answer["data"]
    assert (data["type"], data["issued_by"]) == ("back", card.fields["authority"])
    assert data["valid_date"] == f"{_dotted(card.fields['valid_from'])}-{_dotted(card.fields['valid_to'])}"


def _eas_refusal(endpoint: str, body: str, token: str) -> PredictException:
    with pytest.raises(PredictException) as err:
        _predict(endpoint, body, token)
    return err.value


def test_eas_wrong_token(servers: dict[str, str], cards: dict[str, Card]) -> None:
    err = _eas_refusal(servers["on"], _form(cards["front"]), "not-the-token")
    assert (err.code, err.message) == (401, b"Authorization failed")


def test_eas_expired_date(servers: dict[str, str], cards: dict[str, Card], monkeypatch: pytest.MonkeyPatch) -> None:
    real = datetime

    class Behind(real):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # the SDK stamps Date with datetime.datetime.now()
            return real.now(tz) - timedelta(minutes=20)

    monkeypatch.setattr(predict_client, "datetime", type("clock", (), {"datetime": Behind}))
    err = _eas_refusal(servers["on"], _form(cards["front"]), TOKEN)
    assert (err.code, err.message) == (401, b"Authorization failed: request date out of range")


def test_eas_not_a_card_and_not_an_image(servers: dict[str, str], cards: dict[str, Card]) -> None:
    answer = _predict(servers["on"], _form(cards["none"]))
    assert (answer["code"], answer["message"], answer["data"]) == ("201", "id card not detected", {})
    err = _eas_refusal(servers["on"], urlencode({"info": "x", "data": base64.b64encode(b"not an image")}), TOKEN)
    assert err.code == 400
    assert json.loads(base64.b64decode(err.message))["message"] == "image decode failed"
