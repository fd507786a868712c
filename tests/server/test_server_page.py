"""The web page: its static files, and POST /ui/read (one recognition answered as every API dialect)."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, make_app, make_reading, png, with_checks

from idcard_ocr.model import Reading
from idcard_ocr.server import page
from idcard_ocr.server.vendors import DIALECTS

STATIC = {"/": "text/html; charset=utf-8", "/ui/app.js": "text/javascript; charset=utf-8",
          "/ui/style.css": "text/css; charset=utf-8", "/ui/icon.png": "image/png"}
TEXT = [path for path, kind in STATIC.items() if kind.startswith("text/")]
VOLATILE = ("request_id", "time_used", "log_id", "RequestId")  # per request: ids and times


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: _stable(v) if isinstance(v, dict) else v for k, v in body.items() if k not in VOLATILE}


def _read(client: TestClient, data: dict[str, str] | None = None, image: bytes = PNG, **kwargs: Any) -> Any:
    return client.post("/ui/read", files={"image": ("card.png", image, "image/png")}, data=data or {}, **kwargs)


# ---------------------------------------------------------------- static files


@pytest.mark.parametrize("path", list(STATIC))
def test_static_files_with_their_types_and_policy(path: str) -> None:
    r = TestClient(make_app()).get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == STATIC[path]
    assert r.headers["x-content-type-options"] == "nosniff"
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy


def test_page_references_only_its_own_served_files() -> None:
    client = TestClient(make_app())
    html = client.get("/").text
    refs = re.findall(r"""(?:src|href)="([^"]*)\"""", html)
    assert {"/ui/app.js", "/ui/style.css", "/ui/icon.png"} <= set(refs)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    assert re.search(r"<label[^>]*for=\"file\"", html) and 'id="file"' in html  # the input has a label
    assert 'capture="environment"' in html
    assert "Nothing is stored" in html


@pytest.mark.parametrize("path", TEXT)
def test_no_external_urls(path: str) -> None:
    text = TestClient(make_app()).get(path).text
    assert not re.search(r"(?i)\b(?:https?|ftp|wss?):", text)  # no absolute URL of any scheme
    assert not re.search(r"""(?i)(?:src|href)\s*=\s*["']?//|url\(\s*["']?(?:https?:)?//|@import""", text)
    assert "cdn" not in text.lower()


@pytest.mark.parametrize("path", ["/ui/index.html", "/ui/page.py", "/ui/..%2Fpage.py", "/ui/", "/index.html"])
def test_nothing_else_is_served(path: str) -> None:
    assert TestClient(make_app()).get(path).status_code == 404


def test_page_files_are_package_data() -> None:
    # pyproject's package-data ships them; the app reads them through importlib.resources
    for name in page.FILES:
        assert page.static_file(name)


# ---------------------------------------------------------------- POST /ui/read


def test_one_recognition_answers_reading_dialects_and_crops() -> None:
    reading = with_checks(make_reading("front"))
    reader = FakeReader(reading)
    client = TestClient(make_app(reader))
    r = _read(client, {"side": "front"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"reading", "dialects", "preview"}
    assert body["reading"] == reading.model_dump(mode="json")
    assert body["reading"]["portrait_image"] and body["reading"]["card_image"]
    assert body["preview"] is None
    assert reader.calls == [(PNG, "front")] and reader.images == [True]  # one read, crops included
    assert [d["name"] for d in body["dialects"]] == list(DIALECTS)
    for dialect in body["dialects"]:
        assert _stable(dialect["answer"]) == _stable(DIALECTS[dialect["name"]](reading)), dialect["name"]


def test_dialects_name_the_api_and_its_path() -> None:
    assert len(DIALECTS) >= 6
    for name in DIALECTS:
        assert re.fullmatch(r".+ \(/\S*\)", name), name


def test_json_request_works_too() -> None:
    reader = FakeReader(with_checks(make_reading("back")))
    r = TestClient(make_app(reader)).post("/ui/read", json={"image": PNG_B64, "preview": True})
    assert r.status_code == 200
    assert r.json()["reading"]["side"] == "back"
    assert r.json()["preview"]


def test_preview_is_the_upright_image_scaled_down() -> None:
    big = png(2000, 1000)
    reader = FakeReader(make_reading("front", image_size=(2000, 1000)))
    r = _read(TestClient(make_app(reader)), {"preview": "true"}, image=big)
    assert r.status_code == 200
    preview = Image.open(io.BytesIO(base64.b64decode(r.json()["preview"])))
    assert preview.format == "JPEG"
    assert preview.size == (1600, 800)  # longest side PREVIEW_SIDE, same aspect as image_size
    assert len(reader.calls) == 1


def test_no_card_shows_each_apis_refusal() -> None:
    reading = make_reading("none")
    r = _read(TestClient(make_app(FakeReader(reading))))
    assert r.status_code == 200
    assert r.json()["reading"]["side"] == "none"
    answers = {d["name"]: d["answer"] for d in r.json()["dialects"]}
    assert answers["Huawei Cloud (/v1.0/ocr/id-card)"] == {
        "error_code": "AIS.0104", "error_msg": "The image is not supported or the image quality is poor."}
    assert answers["Alibaba Cloud market (/idcard/ocr)"] == {"status": 500, "msg": "请求失败，未识别到身份证"}
    assert answers["Alibaba Cloud market (/do)"]["error_code"] == 463
    assert answers["PAI-EAS (/api/predict/{service})"]["code"] == "201"
    assert answers["Face++ (/faceid/v1/ocridcard)"]["side"] is None
    assert answers["idcard-ocr (/v1/idcard)"]["side"] == "none"


def test_a_failing_dialect_does_not_take_the_page_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(reading: Reading) -> dict[str, Any]:
        raise KeyError("a bug in one adapter")

    monkeypatch.setitem(DIALECTS, "Broken (/broken)", broken)
    r = _read(TestClient(make_app(FakeReader(with_checks(make_reading("front"))))))
    assert r.status_code == 200
    answers = {d["name"]: d["answer"] for d in r.json()["dialects"]}
    assert answers["Broken (/broken)"] is None
    assert answers["Huawei Cloud (/v1.0/ocr/id-card)"]["result"]["number"] == "110102197810272321"


def test_errors_in_our_apis_shape() -> None:
    client = TestClient(make_app())
    r = client.post("/ui/read", files={"image": ("notes.txt", b"just some text\n", "text/plain")})
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "undecodable"
    assert r.json()["request_id"] == r.headers["X-Request-Id"]
    r = client.post("/ui/read", files={"other": ("x.png", PNG, "image/png")})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "missing_param")
    r = _read(client, {"side": "top"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_param")
    r = _read(client, image=b"")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "empty_image")


def test_busy_is_429_with_retry_after() -> None:
    r = _read(TestClient(busy_app(retry_after=3)))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert r.json()["error"]["code"] == "busy"


def test_native_keys_guard_the_page_route() -> None:
    reader = FakeReader()
    client = TestClient(make_app(reader, api_keys={"native": ["k1"]}))
    assert client.get("/").status_code == 200  # the page itself is public; reading is not
    r = _read(client)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "auth_missing")
    r = _read(client, headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "auth_refused")
    assert _read(client, headers={"Authorization": "Bearer k1"}).status_code == 200
    assert _read(client, headers={"X-API-Key": "k1"}).status_code == 200
    assert len(reader.calls) == 2


def test_openapi_lists_the_read_route_not_the_page() -> None:
    spec = TestClient(make_app()).get("/openapi.json").json()
    assert "post" in spec["paths"]["/ui/read"]
    # "/" is there for POST only (Tencent and Alibaba Cloud OCR); the page (GET) is not an API operation
    assert "get" not in spec["paths"].get("/", {}) and "/ui/{name}" not in spec["paths"]
    content = spec["paths"]["/ui/read"]["post"]["requestBody"]["content"]
    assert "preview" in content["multipart/form-data"]["schema"]["properties"]


# ---------------------------------------------------------------- each dialect is its route's answer


def _native(client: TestClient) -> dict[str, Any]:
    return dict(client.post("/v1/idcard", json={"image": PNG_B64}).json())


def _aliyun_market(client: TestClient) -> dict[str, Any]:
    return dict(client.post("/idcard/ocr", json={"image": PNG_B64}).json())


def _faceplusplus(client: TestClient) -> dict[str, Any]:
    r = client.post("/faceid/v1/ocridcard", data={"api_key": "k", "api_secret": "s"},
                    files={"image": ("card.png", PNG, "image/png")})
    return dict(r.json())


def _huawei(client: TestClient) -> dict[str, Any]:
    return dict(client.post("/v1.0/ocr/id-card", json={"image": PNG_B64}).json())


def _aliyun_do(client: TestClient, side: str) -> dict[str, Any]:
    return dict(client.post("/do", data={"id_card_side": side, "image": PNG_B64}).json())


def _pai_eas(client: TestClient) -> dict[str, Any]:
    r = client.post("/api/predict/idcard_ocr", data={"data": PNG_B64})
    return dict(json.loads(base64.b64decode(r.text)))


def _tencent(client: TestClient) -> dict[str, Any]:
    r = client.post("/", json={"ImageBase64": PNG_B64},
                    headers={"X-TC-Action": "IDCardOCR", "X-TC-Version": "2018-11-19"})
    return dict(r.json())


def _baidu(client: TestClient, side: str) -> dict[str, Any]:
    return dict(client.post("/rest/2.0/ocr/v1/idcard", data={"image": PNG_B64, "id_card_side": side}).json())


def _aliyun_ocr(client: TestClient) -> dict[str, Any]:
    r = client.post("/", content=PNG, headers={"x-acs-action": "RecognizeIdcard", "x-acs-version": "2021-07-07",
                                               "content-type": "application/octet-stream"})
    return dict(r.json())


@pytest.mark.parametrize("side", ["front", "back", "both", "none"])
def test_each_dialect_equals_its_routes_answer(side: str) -> None:
    """The tab for an API shows what that API's route answers for the same image (ids and times aside)."""
    reading = with_checks(make_reading(side))
    client = TestClient(make_app(FakeReader(reading)))
    found = "back" if side == "back" else "front"
    routes: dict[str, Callable[[TestClient], dict[str, Any]]] = {
        "native": _native,
        "aliyun_market": _aliyun_market,
        "faceplusplus": _faceplusplus,
        "huawei": _huawei,
        "aliyun_do": lambda c: _aliyun_do(c, found),
        "pai_eas": _pai_eas,
        "tencent": _tencent,
        "baidu": lambda c: _baidu(c, found),
        "aliyun_ocr": _aliyun_ocr,
    }
    compared = set()
    for name, to_answer in DIALECTS.items():
        module = to_answer.__module__.rsplit(".", 1)[-1]
        if module in routes:
            assert _stable(to_answer(reading)) == _stable(routes[module](client)), name
            compared.add(module)
    assert compared == set(routes)


def test_preview_is_upright_in_the_readings_coordinates() -> None:
    """A phone JPEG stored sideways with EXIF orientation 6: the preview is upright, as image_size is."""
    stored = Image.new("RGB", (300, 500), (200, 30, 30))
    stored.paste((30, 30, 200), (0, 0, 300, 100))  # the stored top band: blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    preview = Image.open(io.BytesIO(base64.b64decode(page.preview_jpeg(buf.getvalue())))).convert("RGB")
    assert preview.size == (500, 300)
    assert preview.getpixel((490, 150))[2] > 150 and preview.getpixel((10, 150))[0] > 150  # blue band now on the right


def test_preview_of_heif() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    try:
        Image.new("RGB", (640, 400), (40, 120, 200)).save(buf, format="HEIF", quality=90)
    except Exception as exc:  # pragma: no cover - depends on the libheif build
        pytest.skip(f"this pillow_heif cannot encode HEIF ({type(exc).__name__})")
    preview = Image.open(io.BytesIO(base64.b64decode(page.preview_jpeg(buf.getvalue()))))
    assert (preview.format, preview.size) == ("JPEG", (640, 400))
