"""Our own API: POST /v1/idcard, health, readiness, metrics, request ids, OpenAPI."""

from __future__ import annotations

import base64
import io
import re

from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, image_server, make_app, make_reading, with_checks

from idcard_ocr.errors import DecompressionBomb, ImageTooLarge, ImageTooSmall

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_json_base64_answers_the_reading() -> None:
    reading = make_reading("both")
    reader = FakeReader(reading)
    client = TestClient(make_app(reader))
    r = client.post("/v1/idcard", json={"image": PNG_B64, "side": "front"})
    assert r.status_code == 200
    assert r.json() == reading.model_dump(mode="json")
    assert reader.calls == [(PNG, "front")]
    assert UUID.fullmatch(r.headers["X-Request-Id"])


def test_data_uri_and_multipart() -> None:
    reader = FakeReader()
    client = TestClient(make_app(reader))
    assert client.post("/v1/idcard", json={"image": "data:image/png;base64," + PNG_B64}).status_code == 200
    r = client.post("/v1/idcard", files={"image": ("card.png", PNG, "image/png")}, data={"side": "back"})
    assert r.status_code == 200
    assert r.json()["side"] == "front"
    assert reader.calls == [(PNG, "auto"), (PNG, "back")]


def test_no_card_is_a_reading_with_side_none() -> None:
    client = TestClient(make_app(FakeReader(make_reading("none"))))
    r = client.post("/v1/idcard", json={"image": PNG_B64})
    assert r.status_code == 200
    assert r.json()["side"] == "none"
    assert r.json()["fields"] == {}


def test_url_from_allowlisted_loopback_server() -> None:
    reader = FakeReader()
    with image_server({"/card.png": (200, {"Content-Type": "image/png"}, PNG)}) as base:
        client = TestClient(make_app(reader, url_allowlist=["127.0.0.1/32"]))
        r = client.post("/v1/idcard", json={"url": f"{base}/card.png"})
        assert r.status_code == 200
        r = client.post("/v1/idcard", json={"image": f"{base}/card.png"})
        assert r.status_code == 200
    assert [c[0] for c in reader.calls] == [PNG, PNG]


def test_url_to_loopback_refused_by_default() -> None:
    client = TestClient(make_app())
    r = client.post("/v1/idcard", json={"url": "http://127.0.0.1:9/card.png"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "url_refused"


def _jpeg(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    assert image.format == "JPEG"
    return image


def test_return_card_and_portrait() -> None:
    reader = FakeReader(with_checks(make_reading("front")))
    client = TestClient(make_app(reader))
    card = client.post("/v1/idcard", json={"image": PNG_B64, "return_card": True})
    assert card.status_code == 200
    assert "X-Idcard-Ocr-Unavailable" not in card.headers
    assert _jpeg(card.json()["card_image"]).size == (320, 202)
    assert card.json()["portrait_image"] is None  # not asked for
    portrait = client.post("/v1/idcard", json={"image": PNG_B64, "return_portrait": True}).json()
    assert _jpeg(portrait["portrait_image"]).size == (60, 80)
    assert portrait["card_image"] is None
    both = client.post("/v1/idcard", files={"image": ("c.png", PNG, "image/png")},
                       data={"return_portrait": "true", "return_card": "true"}).json()
    assert both["portrait_image"] and both["card_image"]
    plain = client.post("/v1/idcard", json={"image": PNG_B64}).json()
    assert plain["portrait_image"] is None and plain["card_image"] is None
    assert plain["risk"]["class"] == "original" and plain["portrait"]["box"] == [600, 120, 290, 330]
    assert reader.images == [True, True, True, False]


def _error(client: TestClient, status: int, code: str, **kwargs: object) -> dict:
    r = client.post("/v1/idcard", **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert body["request_id"] == r.headers["X-Request-Id"]
    return body


def test_request_errors() -> None:
    client = TestClient(make_app())
    assert _error(client, 400, "missing_param", json={})["error"]["param"] == "image"
    _error(client, 400, "invalid_param", json={"image": PNG_B64, "url": "http://example.com/a.png"})
    assert (
        _error(client, 400, "invalid_param", json={"image": PNG_B64, "side": "left"})["error"]["param"]
        == "side"
    )
    _error(client, 400, "bad_body", content=b"{not json", headers={"Content-Type": "application/json"})
    _error(client, 400, "base64_chars", json={"image": "@@@@"})
    _error(client, 400, "base64_padding", json={"image": "abcde"})
    _error(client, 400, "empty_image", json={"image": ""})
    _error(client, 415, "undecodable", json={"image": "aGVsbG8="})


def test_image_size_errors() -> None:
    for exc, status, code in (
        (ImageTooSmall("small"), 422, "image_too_small"),
        (ImageTooLarge("large"), 413, "image_too_large"),
        (DecompressionBomb("bomb"), 413, "image_too_large"),
    ):
        _error(TestClient(make_app(FakeReader(exc))), status, code, json={"image": PNG_B64})


def test_body_too_large() -> None:
    client = TestClient(make_app(max_body_bytes=4096))
    _error(client, 413, "body_too_large", json={"image": "A" * 8000})


def test_internal_error_hides_details() -> None:
    client = TestClient(make_app(FakeReader(RuntimeError("secret 110102197810272321"))))
    body = _error(client, 500, "internal", json={"image": PNG_B64})
    assert "1101" not in str(body)


def test_auth() -> None:
    client = TestClient(make_app(api_keys={"native": ["k1", "k2"]}))
    _error(client, 401, "auth_missing", json={"image": PNG_B64})
    _error(client, 401, "auth_refused", json={"image": PNG_B64}, headers={"Authorization": "Bearer nope"})
    ok = {"json": {"image": PNG_B64}}
    assert client.post("/v1/idcard", headers={"Authorization": "Bearer k2"}, **ok).status_code == 200  # type: ignore[arg-type]
    assert client.post("/v1/idcard", headers={"X-API-Key": "k1"}, **ok).status_code == 200  # type: ignore[arg-type]


def test_busy_is_429_with_retry_after() -> None:
    client = TestClient(busy_app(retry_after=3))
    r = client.post("/v1/idcard", json={"image": PNG_B64})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert r.json()["error"]["code"] == "busy"


def test_request_id_is_kept_when_sane() -> None:
    client = TestClient(make_app())
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert UUID.fullmatch(
        client.get("/healthz", headers={"X-Request-Id": "bad id\x01"}).headers["X-Request-Id"]
    )


def test_health_ready_and_warm_up() -> None:
    warmed: list[bool] = []
    from idcard_ocr.server import Settings, create_app

    app = create_app(Settings(), read_fn=FakeReader(), warm_up=lambda: warmed.append(True))
    client = TestClient(app)
    assert client.get("/readyz").status_code == 503  # lifespan not run: not warmed
    with TestClient(app) as live:
        assert warmed == [True]
        assert live.get("/healthz").json() == {"status": "ok"}
        r = live.get("/readyz")
        assert r.status_code == 200
        assert r.json()["status"] == "ready"


def test_metrics() -> None:
    client = TestClient(make_app())
    client.post("/v1/idcard", json={"image": PNG_B64})
    client.post("/v1/idcard", json={})
    text = client.get("/metrics").text
    assert 'idcard_ocr_requests_total{method="POST",route="/v1/idcard",status="200"} 1.0' in text
    assert 'idcard_ocr_errors_total{code="missing_param",route="/v1/idcard"} 1.0' in text
    assert 'idcard_ocr_request_duration_seconds_bucket{le="0.05",route="/v1/idcard"}' in text
    assert "idcard_ocr_recognitions_pending 0.0" in text
    assert "idcard_ocr_requests_in_flight" in text


def test_openapi_and_docs() -> None:
    client = TestClient(make_app())
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/idcard",
        "/idcard/ocr",
        "/faceid/v1/ocridcard",
        "/v1.0/ocr/id-card",
        "/v2/{project_id}/ocr/id-card",
        "/do",
        "/api/predict/{service}",
    ):
        assert path in paths
    assert "multipart/form-data" in paths["/v1/idcard"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200
