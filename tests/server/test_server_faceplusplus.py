"""Seed 001, Face++ POST /faceid/v1/ocridcard."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import PNG, FakeReader, busy_app, live_server, make_app, make_reading, with_checks

from idcard_ocr.errors import DecompressionBomb, ImageTooSmall

URL = "/faceid/v1/ocridcard"
CREDS = {"api_key": "key1", "api_secret": "secret1"}
REQUEST_ID = re.compile(r"\d{10},[0-9a-f-]{36}")


def _post(client: TestClient, data: dict | None = None, image: bytes | None = PNG, **kwargs: object):  # type: ignore[no-untyped-def]
    files = {"image": ("id.jpg", image, "image/jpeg")} if image is not None else None
    return client.post(URL, data=CREDS if data is None else data, files=files, **kwargs)  # type: ignore[arg-type]


def test_front_shape_and_values() -> None:
    values = {
        "name": "张三",
        "sex": "男",
        "nation": "汉",
        "birth": "1989-04-03",
        "address": "北京市海淀区某街1号",
        "number": "110101198904030015",
    }
    r = _post(TestClient(make_app(FakeReader(make_reading("front", values)))))
    assert r.status_code == 200
    body = r.json()
    assert REQUEST_ID.fullmatch(body.pop("request_id"))
    assert isinstance(body.pop("time_used"), int)
    assert body == {
        "side": "front",
        "name": "张三",
        "gender": "男",
        "race": "汉",
        "address": "北京市海淀区某街1号",
        "id_card_number": "110101198904030015",
        "birthday": {"year": "1989", "month": "4", "day": "3"},  # no zero padding, as the seed shows
    }


def test_request_id_carries_the_header_id() -> None:
    r = _post(TestClient(make_app()))
    assert r.json()["request_id"].split(",")[1] == r.headers["X-Request-Id"]


def test_back_shape_and_values() -> None:
    values = {"authority": "北京市海淀区公安局", "valid_from": "2016-02-29", "valid_to": "2026-02-28"}
    body = _post(TestClient(make_app(FakeReader(make_reading("back", values))))).json()
    assert {k: body[k] for k in ("side", "issued_by", "valid_date")} == {
        "side": "back",
        "issued_by": "北京市海淀区公安局",
        "valid_date": "2016.02.29-2026.02.28",
    }
    assert set(body) == {"request_id", "time_used", "side", "issued_by", "valid_date"}
    long_term = make_reading("back", {**values, "valid_to": "长期"})
    assert _post(TestClient(make_app(FakeReader(long_term)))).json()["valid_date"] == "2016.02.29-长期"


def test_both_sides_answer_the_front() -> None:
    assert _post(TestClient(make_app(FakeReader(make_reading("both"))))).json()["side"] == "front"


def test_no_card_answers_side_null() -> None:
    body = _post(TestClient(make_app(FakeReader(make_reading("none"))))).json()
    assert body["side"] is None
    assert set(body) == {"request_id", "time_used", "side"}


def test_unchecked_reading_gives_no_legality_or_head_rect() -> None:
    body = _post(TestClient(make_app()), {**CREDS, "legality": "1"}).json()
    assert "legality" not in body
    assert "head_rect" not in body


def test_front_head_rect_in_the_seeds_shape() -> None:
    body = _post(TestClient(make_app(FakeReader(with_checks(make_reading("front")))))).json()
    assert list(body["head_rect"]) == ["rt", "lt", "lb", "rb"]
    assert body["head_rect"]["rt"] == {"y": 0.19, "x": 0.89}
    assert body["head_rect"]["lb"] == {"y": 0.71, "x": 0.6}
    assert "legality" not in body  # not asked for


def test_legality_when_asked() -> None:
    client = TestClient(make_app(FakeReader(with_checks(make_reading("front"), kind="screen"))))
    body = _post(client, {**CREDS, "legality": "1"}).json()
    legality = body["legality"]
    assert set(legality) == {"ID Photo", "Temporary ID Photo", "Photocopy", "Screen", "Edited"}
    assert sum(legality.values()) == pytest.approx(1.0, abs=1e-9)
    assert max(legality, key=legality.get) == "Screen"
    assert "legality" not in _post(client, {**CREDS, "legality": "0"}).json()
    back = _post(TestClient(make_app(FakeReader(with_checks(make_reading("back"))))), {**CREDS, "legality": "1"})
    assert "head_rect" not in back.json()
    assert sum(back.json()["legality"].values()) == pytest.approx(1.0, abs=1e-9)


def _error(response, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert body["error_message"] == message
    assert REQUEST_ID.fullmatch(body["request_id"])
    assert isinstance(body["time_used"], int)


@pytest.mark.parametrize("missing", ["api_key", "api_secret"])
def test_missing_arguments(missing: str) -> None:
    data = {k: v for k, v in CREDS.items() if k != missing}
    _error(_post(TestClient(make_app()), data), 400, f"MISSING_ARGUMENTS: {missing}")


def test_missing_image() -> None:
    _error(_post(TestClient(make_app()), image=None), 400, "MISSING_ARGUMENTS: image")


def test_unsupported_format() -> None:
    client = TestClient(make_app())
    _error(_post(client, image=b"this is not an image"), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")
    _error(_post(client, image=b""), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")
    for exc in (ImageTooSmall("x"), DecompressionBomb("x")):
        _error(_post(TestClient(make_app(FakeReader(exc)))), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")


def test_authorization() -> None:
    client = TestClient(make_app(api_keys={"faceplusplus": ["key1:secret1"]}))
    assert _post(client).status_code == 200
    _error(_post(client, {"api_key": "key1", "api_secret": "wrong"}), 403, "AUTHORIZATION_ERROR")
    _error(_post(client, {"api_key": "other", "api_secret": "secret1"}), 403, "AUTHORIZATION_ERROR")


def test_concurrency_limit() -> None:
    _error(_post(TestClient(busy_app())), 403, "CONCURRENCY_LIMIT_EXCEEDED")


def test_request_too_large_is_plain_text() -> None:
    r = _post(TestClient(make_app()), image=b"\xff\xd8" + b"0" * (2 * 1024 * 1024))
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Request Entity Too Large"


def test_api_not_found() -> None:
    client = TestClient(make_app())
    _error(client.post("/faceid/v1/ocrbankcard", data=CREDS), 404, "API_NOT_FOUND")
    _error(client.get(URL), 404, "API_NOT_FOUND")


def test_internal_error() -> None:
    _error(_post(TestClient(make_app(FakeReader(RuntimeError("boom"))))), 500, "INTERNAL_ERROR")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_the_seeds_curl_example_as_written(tmp_path: Path) -> None:
    # The seed: curl "https://api.faceid.com/faceid/v1/ocridcard" -F api_key=<api_key> -F
    #           api_secret=<api_secret> -F image=@id.jpg
    # Only the base URL changes; the placeholders take the configured key and secret.
    (tmp_path / "id.jpg").write_bytes(PNG)
    app = make_app(api_keys={"faceplusplus": ["key1:secret1"]})
    with live_server(app) as base:
        command = f'curl "{base}/faceid/v1/ocridcard" -F api_key=key1 -F api_secret=secret1 -F image=@id.jpg'
        out = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True
        )
    body = json.loads(out.stdout)
    assert body["side"] == "front"
    assert body["id_card_number"] == "110102197810272321"
    assert body["birthday"] == {"year": "1978", "month": "10", "day": "27"}
