"""Seed 000, Alibaba Cloud market POST /idcard/ocr."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, image_server, make_app, make_reading

from idcard_ocr.errors import ImageTooSmall

# The seed's "传递同时包含正反面扫描件的结果" example, verbatim.
SEED_ALL = {
    "status": 200,
    "msg": "请求成功",
    "data": {
        "type": "all",
        "authority": "北京市公安局西城分局",
        "issuing_date": "2004.10.27",
        "expiry_date": "2024.10.26",
        "name": "金阳",
        "sex": "女",
        "nation": "汉",
        "birth_date": "1978年10月27日",
        "year": "1978",
        "month": "10",
        "day": "27",
        "address": "北京市西城区复兴门外大街999号院11号楼3单元502室",
        "number": "110102197810272321",
    },
}
SEED_BACK = {
    "status": 200,
    "msg": "请求成功",
    "data": {
        "type": "back",
        "authority": "北京市公安局西城分局",
        "issuing_date": "2004.10.27",
        "expiry_date": "2024.10.26",
    },
}


def _post(client: TestClient, body: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return client.post("/idcard/ocr", json=body, **kwargs)  # type: ignore[arg-type]


def test_both_sides_match_the_seed_example_exactly() -> None:
    r = _post(TestClient(make_app(FakeReader(make_reading("both")))), {"image": PNG_B64})
    assert r.status_code == 200
    assert r.json() == SEED_ALL
    assert list(r.json()["data"]) == list(SEED_ALL["data"])  # same key order as the seed


def test_back_matches_the_seed_example() -> None:
    r = _post(TestClient(make_app(FakeReader(make_reading("back")))), {"image": PNG_B64})
    assert r.json() == SEED_BACK


def test_front_has_front_fields_only() -> None:
    r = _post(TestClient(make_app(FakeReader(make_reading("front")))), {"image": PNG_B64})
    data = r.json()["data"]
    assert data["type"] == "front"
    assert set(data) == {
        "type",
        "name",
        "sex",
        "nation",
        "birth_date",
        "year",
        "month",
        "day",
        "address",
        "number",
    }


def test_formats_long_term_and_unpadded_birth() -> None:
    values = {"name": "李四", "birth": "1990-03-05", "valid_from": "2010-01-02", "valid_to": "长期"}
    data = _post(TestClient(make_app(FakeReader(make_reading("both", values)))), {"image": PNG_B64}).json()[
        "data"
    ]
    assert data["birth_date"] == "1990年3月5日"
    assert (data["year"], data["month"], data["day"]) == ("1990", "3", "5")
    assert data["issuing_date"] == "2010.01.02"
    assert data["expiry_date"] == "长期"
    assert data["sex"] == ""  # not read: empty, key kept


def test_the_seeds_request_forms() -> None:
    reader = FakeReader()
    client = TestClient(make_app(reader, url_allowlist=["127.0.0.1/32"]))
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert _post(client, {"image": "data:image/jpeg;base64," + PNG_B64}, headers=headers).status_code == 200
    assert _post(client, {"image": PNG_B64}).status_code == 200
    with image_server({"/id_card_front.jpg": (200, {"Content-Type": "image/png"}, PNG)}) as base:
        assert _post(client, {"image": f"{base}/id_card_front.jpg"}).json()["status"] == 200
    assert [c[0] for c in reader.calls] == [PNG, PNG, PNG]


def _error(client: TestClient, status: int, msg: str, body: object = None, **kwargs: object) -> dict:
    r = client.post("/idcard/ocr", json=body if body is not None else {"image": PNG_B64}, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status
    assert r.json() == {"status": status, "msg": msg}
    assert r.headers["X-Request-Id"]
    return dict(r.headers)


def test_missing_image_is_the_seeds_error() -> None:
    client = TestClient(make_app())
    _error(client, 500, "请求失败，缺少必要参数: image", {})
    _error(client, 500, "请求失败，缺少必要参数: image", {"image": ""})


def test_bad_images() -> None:
    client = TestClient(make_app())
    _error(client, 500, "请求失败，图片格式错误", {"image": "not base64!"})
    _error(client, 500, "请求失败，图片格式错误", {"image": "aGVsbG8="})  # "hello": not an image
    _error(TestClient(make_app(FakeReader(ImageTooSmall("x")))), 500, "请求失败，图片尺寸不符合要求")


def test_no_card() -> None:
    _error(TestClient(make_app(FakeReader(make_reading("none")))), 500, "请求失败，未识别到身份证")


def test_url_refused_or_failed() -> None:
    _error(TestClient(make_app()), 500, "请求失败，图片下载失败", {"image": "http://169.254.169.254/latest"})


def test_body_too_large() -> None:
    headers = _error(
        TestClient(make_app(max_body_bytes=2048)), 413, "请求失败，请求体过大", {"image": "A" * 4096}
    )
    assert headers["x-ca-error-message"] == "Request body too Large"


def test_appcode_auth() -> None:
    client = TestClient(make_app(api_keys={"aliyun_market": ["c0de"]}))
    _error(client, 403, "请求失败，AppCode 无效")
    headers = _error(client, 403, "请求失败，AppCode 无效", headers={"Authorization": "APPCODE wrong"})
    assert headers["x-ca-error-message"].startswith("Invalid AppCode")
    ok = client.post("/idcard/ocr", json={"image": PNG_B64}, headers={"Authorization": "APPCODE c0de"})
    assert ok.status_code == 200


def test_busy() -> None:
    headers = _error(TestClient(busy_app()), 503, "请求失败，服务繁忙，请稍后重试")
    assert headers["retry-after"] == "1"


def test_internal_error() -> None:
    _error(TestClient(make_app(FakeReader(RuntimeError("boom")))), 500, "请求失败，服务内部错误")
