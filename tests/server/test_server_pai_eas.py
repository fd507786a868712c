"""Seed 004, PAI-EAS POST /api/predict/{service}: base64-wrapped JSON answers, codes 200 and 201-209."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, live_server, make_app, make_reading, with_checks

from idcard_ocr.errors import ImageTooSmall

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
