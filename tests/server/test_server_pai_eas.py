"""Seed 004, PAI-EAS POST /api/predict/{service}: base64-wrapped JSON answers, codes 200 and 201-209; the body
and the EAS signature eas-prediction's PredictClient sends."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, live_server, make_app, make_reading, with_checks

from idcard_ocr.errors import ImageTooSmall
from idcard_ocr.server import auth
from idcard_ocr.server.problems import ApiError, Kind

# eas-prediction's generated protobuf code needs the pure-Python protobuf runtime with protobuf >= 4
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
with warnings.catch_warnings():  # its generated code calls protobuf's deprecated descriptor constructors
    warnings.simplefilter("ignore", DeprecationWarning)
    from eas_prediction import PredictClient, predict_client

URL = "/api/predict/idcard_ocr_test/idcard_ocr"  # the seed's own path: the service name holds a slash
TOKEN = "Zjc0ZGF1NzgyMzVhMDVjMGQ3YmIxMDY2M2ZkOTRiNTczMjg5NGQxMw=="
CLIENT = Path(__file__).parent / "fixtures" / "pai_eas_client.py"


def _post(client: TestClient, data: dict | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    form = {"info": "test one image", "data": PNG_B64} if data is None else data
    return client.post(URL, data=form, headers={"Authorization": TOKEN}, **kwargs)  # type: ignore[arg-type]


def _decode(response) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """As the vendor's client does: base64 body -> JSON envelope -> json.loads(data)."""
    envelope = json.loads(base64.b64decode(response.text).decode())
    return envelope, json.loads(envelope["data"])


def test_front() -> None:
    values = {
        "name": "张三",
        "sex": "男",
        "nation": "汉",
        "birth": "1982-09-25",
        "address": "杭州市西湖区某路1号",
        "number": "330106198209250013",
    }
    r = _post(TestClient(make_app(FakeReader(make_reading("front", values)))))
    assert r.status_code == 200
    envelope, data = _decode(r)
    assert envelope["code"] == "200"
    assert envelope["message"] == "success"
    assert isinstance(envelope["data"], str)
    assert data == {
        "type": "front",
        "id_no": "330106198209250013",
        "address": "杭州市西湖区某路1号",
        "gender": "男",
        "race": "汉",
        "name": "张三",
        "birth": "1982.09.25",
        "idcard_image": None,
    }


@pytest.mark.parametrize("side", ["front", "back"])
def test_idcard_image_is_the_straightened_card(side: str) -> None:
    reader = FakeReader(with_checks(make_reading(side)))
    envelope, data = _decode(_post(TestClient(make_app(reader))))
    assert envelope["code"] == "200"
    card = Image.open(io.BytesIO(base64.b64decode(data["idcard_image"])))
    assert card.format == "JPEG"
    assert card.size == (320, 202)
    assert reader.images == [True]


def test_back() -> None:
    values = {"authority": "南京市公安局玄武分局", "valid_from": "2013-03-21", "valid_to": "2033-03-21"}
    envelope, data = _decode(_post(TestClient(make_app(FakeReader(make_reading("back", values))))))
    assert envelope["code"] == "200"
    assert data == {
        "type": "back",
        "issued_by": "南京市公安局玄武分局",
        "valid_date": "2013.03.21-2033.03.21",
        "idcard_image": None,
    }


def test_201_no_card() -> None:
    r = _post(TestClient(make_app(FakeReader(make_reading("none")))))
    assert r.status_code == 200
    envelope, data = _decode(r)
    assert (envelope["code"], envelope["message"], data) == ("201", "id card not detected", {})


@pytest.mark.parametrize(
    ("side", "missing", "code", "message"),
    [
        ("back", "authority", "202", "police not detected or rec"),
        ("back", "valid_to", "203", "expiry not detected or rec"),
        ("front", "name", "204", "name not detected or rec"),
        ("front", "nation", "205", "nation not detected or rec"),
        ("front", "address", "206", "address not detected or rec"),
        ("front", "number", "207", "idno not detected or rec"),
        ("front", "birth", "208", "birth not rec"),
        ("front", "sex", "209", "gender not rec"),
    ],
)
def test_field_not_read(side: str, missing: str, code: str, message: str) -> None:
    reading = make_reading(side)
    reading.fields.pop(missing)
    envelope, data = _decode(_post(TestClient(make_app(FakeReader(reading)))))
    assert (envelope["code"], envelope["message"], data) == (code, message, {})


def _error(response, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    envelope, data = _decode(response)
    assert (envelope["code"], envelope["message"], data) == ("-1", message, {})


def test_input_errors() -> None:
    client = TestClient(make_app())
    _error(_post(client, {"info": "x"}), 400, "missing parameter: data")
    _error(_post(client, {"data": "%%%"}), 400, "data is not valid base64")
    _error(_post(client, {"data": "aGVsbG8="}), 400, "image decode failed")
    _error(_post(TestClient(make_app(FakeReader(ImageTooSmall("x"))))), 400, "image too small")


def test_request_data_too_large() -> None:
    _error(
        _post(TestClient(make_app(max_body_bytes=4096)), {"data": "A" * 8000}),
        413,
        "request data must be under 8M",
    )


def test_authorization() -> None:
    client = TestClient(make_app(api_keys={"pai_eas": [TOKEN]}))
    assert _post(client).status_code == 200
    r = client.post(URL, data={"data": PNG_B64}, headers={"Authorization": "wrong"})
    assert (r.status_code, r.text) == (401, "Authorization failed")
    assert client.post(URL, data={"data": PNG_B64}).status_code == 401


def test_busy() -> None:
    r = _post(TestClient(busy_app()))
    _error(r, 429, "server busy, retry later")
    assert r.headers["Retry-After"] == "1"


def test_internal_error() -> None:
    _error(_post(TestClient(make_app(FakeReader(RuntimeError("boom"))))), 500, "internal error")


def _run_vendor_client(base: str, image: Path) -> str:
    source = CLIENT.read_text(encoding="utf-8")
    for old, new in (
        ("http://1819148878156702.cn-chengdu.pai-eas.aliyuncs.com", base),  # only the base URL changes
        ('r"身份证照片地址"', repr(str(image))),
    ):
        assert old in source
        source = source.replace(old, new)
    script = image.parent / "pai_eas_client.py"
    script.write_text(source, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_vendors_python_client_runs_unchanged(tmp_path: Path) -> None:
    image = tmp_path / "card.jpg"
    image.write_bytes(PNG)
    reader = FakeReader(make_reading("front"))
    with live_server(make_app(reader, api_keys={"pai_eas": [TOKEN]})) as base:
        stdout = _run_vendor_client(base, image)
    assert "key code value 200" in stdout
    assert "key message value success" in stdout
    assert (
        "data keys dict_keys(['type', 'id_no', 'address', 'gender', 'race', 'name', 'birth', 'idcard_image'])"
        in stdout
    )
    assert "id_no value 110102197810272321" in stdout
    assert "birth value 1978.10.27" in stdout
    assert "idcard_image data is None" in stdout  # a reading without a crop
    assert reader.calls == [(PNG, "auto")]


def test_the_vendors_python_client_decodes_idcard_image(tmp_path: Path) -> None:
    image = tmp_path / "card.jpg"
    image.write_bytes(PNG)
    reader = FakeReader(with_checks(make_reading("front")))
    with live_server(make_app(reader, api_keys={"pai_eas": [TOKEN]})) as base:
        stdout = _run_vendor_client(base, image)
    assert "img_np (202, 320, 3)" in stdout


def test_the_vendors_python_client_on_no_card(tmp_path: Path) -> None:
    image = tmp_path / "card.jpg"
    image.write_bytes(PNG)
    with live_server(make_app(FakeReader(make_reading("none")), api_keys={"pai_eas": [TOKEN]})) as base:
        stdout = _run_vendor_client(base, image)
    assert "key code value 201" in stdout
    assert "data keys dict_keys([])" in stdout


# ---- eas-prediction's PredictClient: its default content type and its EAS signature ----

SERVICE = "idcard_ocr_test/idcard_ocr"
FORM = urlencode({"info": "test one image", "data": PNG_B64}).encode()


def _eas_headers(body: bytes, token: str = TOKEN) -> dict[str, str]:
    """The headers PredictClient sends for ``body`` (its own generate_singaure; the Date is its clock's)."""
    client = PredictClient("http://testserver", SERVICE)
    client.set_token(token)
    return client.generate_singaure(bytearray(body))  # type: ignore[no-any-return]


class _Clock:
    """Stands in for the datetime module inside eas_prediction.predict_client: now() shifted."""

    def __init__(self, shift: timedelta) -> None:
        real = datetime

        class Shifted(real):
            @classmethod
            def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
                return real.now(tz) + shift

        self.datetime = Shifted


def _utc_clock(hours: float) -> _Clock:
    """A client clock whose local time is UTC + ``hours`` (PredictClient labels local time GMT)."""
    local = datetime.now().astimezone().utcoffset() or timedelta(0)
    return _Clock(timedelta(hours=hours) - local)


def _ok(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    envelope, data = _decode(response)
    assert envelope["code"] == "200"
    return data


def test_octet_stream_form_json_and_bare_image_without_keys() -> None:
    reader = FakeReader(make_reading("front"))
    client = TestClient(make_app(reader))
    octet = {"Content-Type": "application/octet-stream"}
    assert _ok(client.post(URL, content=FORM, headers=octet))["id_no"] == "110102197810272321"
    body = json.dumps({"info": "x", "data": PNG_B64}).encode()
    assert _ok(client.post(URL, content=body, headers=octet))["id_no"] == "110102197810272321"
    assert _ok(client.post(URL, content=PNG, headers=octet))["id_no"] == "110102197810272321"
    assert [image for image, _ in reader.calls] == [PNG, PNG, PNG]
    _error(client.post(URL, content=b"info=x", headers=octet), 400, "missing parameter: data")


def test_signed_request_accepted_and_raw_token_beside_it() -> None:
    client = TestClient(make_app(api_keys={"pai_eas": ["other", TOKEN]}))
    assert _ok(client.post(URL, content=FORM, headers=_eas_headers(FORM)))["name"] == "金阳"
    assert _post(client).status_code == 200  # the seed's client: the token verbatim


@pytest.mark.parametrize("case", ["tampered body", "wrong token", "path changed", "content type changed",
                                  "md5 of the tampered body", "no date", "date not a date"])
def test_signed_request_refused(case: str) -> None:
    client = TestClient(make_app(api_keys={"pai_eas": [TOKEN]}))
    body, url = FORM, URL
    headers = _eas_headers(FORM, "wrong" if case == "wrong token" else TOKEN)
    if case == "tampered body":
        body = FORM.replace(b"test+one", b"test+two")
    elif case == "md5 of the tampered body":
        body = FORM.replace(b"test+one", b"test+two")
        headers["Content-MD5"] = hashlib.md5(body).hexdigest()
    elif case == "path changed":
        url = "/api/predict/another_service"
    elif case == "content type changed":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif case == "no date":
        del headers["Date"]
    elif case == "date not a date":
        headers["Date"] = "yesterday"
    r = client.post(url, content=body, headers=headers)
    assert (r.status_code, r.text) == (401, "Authorization failed")


@pytest.mark.parametrize("minutes", [-20, 20, -40, 8 * 60 + 30])
def test_stale_date_refused(minutes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(make_app(api_keys={"pai_eas": [TOKEN]}))
    monkeypatch.setattr(predict_client, "datetime", _utc_clock(minutes / 60))
    r = client.post(URL, content=FORM, headers=_eas_headers(FORM))
    assert (r.status_code, r.text) == (401, "Authorization failed: request date out of range")


@pytest.mark.parametrize("hours", [8, -5, 0])
def test_client_clock_in_another_whole_hour_zone_accepted(hours: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """PredictClient sends its local time labelled GMT: a client in UTC+8 is 8 hours 'ahead'."""
    client = TestClient(make_app(api_keys={"pai_eas": [TOKEN]}))
    monkeypatch.setattr(predict_client, "datetime", _utc_clock(hours))
    assert client.post(URL, content=FORM, headers=_eas_headers(FORM)).status_code == 200


def test_replayed_request_refused() -> None:
    client = TestClient(make_app(api_keys={"pai_eas": [TOKEN]}))
    headers = _eas_headers(FORM)
    assert client.post(URL, content=FORM, headers=headers).status_code == 200
    r = client.post(URL, content=FORM, headers=headers)
    assert (r.status_code, r.text) == (401, "Authorization failed: request already used")


def test_check_fresh_eas_window() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    for ok in (0, 14, -14, 8 * 60 + 10, -12 * 60, 14 * 60 - 14):
        auth.check_fresh_eas(now + timedelta(minutes=ok), now)
    for stale in (16, -16, 30, 8 * 60 + 30, -12 * 60 - 16, 14 * 60 + 16, 3 * 24 * 60):
        with pytest.raises(ApiError) as err:
            auth.check_fresh_eas(now + timedelta(minutes=stale), now)
        assert err.value.kind is Kind.AUTH_EXPIRED
