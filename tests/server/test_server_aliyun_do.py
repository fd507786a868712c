"""Seed 003, Alibaba Cloud market 身份证识别/翻拍检测 POST /do."""

from __future__ import annotations

import base64
import io
import urllib.parse

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import PNG, PNG_B64, FakeReader, busy_app, image_server, make_app, make_reading, with_checks

from idcard_ocr.model import Checks

URL = "/do"
APPCODE = {"Authorization": "APPCODE 0123abcd"}


def _form(client: TestClient, **params: str):  # type: ignore[no-untyped-def]
    """As the seed asks: base64 url-encoded, sent form-urlencoded."""
    body = urllib.parse.urlencode({"id_card_side": "front", "image": PNG_B64, **params})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", **APPCODE}
    return client.post(URL, content=body, headers=headers)


def test_front_shape_and_values() -> None:
    reader = FakeReader(make_reading("front"))
    r = _form(TestClient(make_app(reader)))
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body.pop("log_id"), int)
    words = body.pop("words_result")
    assert body == {
        "msg": {
            "valid": True,
            "name": "金阳",
            "birthday": "19781027",
            "sex": "女",
            "idcardno": "110102197810272321",
            "address": "北京市西城区复兴门外大街999号院11号楼3单元502室",
            "nation": "汉",
        },
        "image_status": "normal",
        "idcard_number_type": 1,
        "words_result_num": 6,
    }
    assert list(words) == ["住址", "公民身份号码", "出生", "姓名", "性别", "民族"]
    assert words["出生"]["words"] == "19781027"
    assert words["姓名"] == {
        "location": {"left": 100, "top": 50, "width": 300, "height": 42},
        "words": "金阳",
    }
    assert reader.calls == [(PNG, "front")]


def test_back_shape_and_values() -> None:
    values = {"authority": "北京市公安局西城分局", "valid_from": "2004-10-27", "valid_to": "长期"}
    body = _form(TestClient(make_app(FakeReader(make_reading("back", values)))), id_card_side="back").json()
    assert body["msg"] == {"gov": "北京市公安局西城分局", "begindate": "20041027", "enddate": "长期"}
    assert body["image_status"] == "normal"
    assert "idcard_number_type" not in body
    assert set(body["words_result"]) == {"失效日期", "签发机关", "签发日期"}
    assert body["words_result"]["失效日期"]["words"] == "长期"
    assert body["words_result_num"] == 3


def test_json_body_and_flags() -> None:
    client = TestClient(make_app(FakeReader(make_reading("front", rotation=90))))
    body = {
        "id_card_side": "front",
        "image": PNG_B64,
        "detect_direction": True,
        "detect_risk": "true",
        "detect_photo": "true",
    }
    answer = client.post(URL, json=body).json()
    assert answer["direction"] == 3  # card turned 90 clockwise = image turned 270 counter-clockwise
    assert answer["risk_type"] == "unknown"  # the reader did not judge it
    assert "photo" not in answer and "photo_location" not in answer and "edit_tool" not in answer
    plain = client.post(URL, json={"id_card_side": "front", "image": PNG_B64}).json()
    assert "direction" not in plain and "risk_type" not in plain


@pytest.mark.parametrize(
    ("kind", "risk_type"),
    [("original", "normal"), ("photocopy", "copy"), ("temporary", "temporary"), ("screen", "screen"),
     ("edited", "unknown")],
)
def test_risk_type_in_the_seeds_words(kind: str, risk_type: str) -> None:
    client = TestClient(make_app(FakeReader(with_checks(make_reading("front"), kind=kind))))
    answer = _form(client, detect_risk="true").json()
    assert answer["risk_type"] == risk_type
    assert "edit_tool" not in answer


def test_edit_tool_when_named() -> None:
    reading = with_checks(make_reading("front"), kind="edited", edit_tool="Adobe Photoshop CC 2014 (Macintosh)")
    answer = _form(TestClient(make_app(FakeReader(reading))), detect_risk="true").json()
    assert answer["edit_tool"] == "Adobe Photoshop CC 2014 (Macintosh)"
    plain = _form(TestClient(make_app(FakeReader(reading)))).json()
    assert "edit_tool" not in plain and "risk_type" not in plain


def test_photo_and_location() -> None:
    reader = FakeReader(with_checks(make_reading("front")))
    client = TestClient(make_app(reader))
    answer = _form(client, detect_photo="true").json()
    assert answer["photo_location"] == {"left": 600, "top": 120, "width": 290, "height": 330}
    photo = Image.open(io.BytesIO(base64.b64decode(answer["photo"])))
    assert photo.format == "JPEG"
    plain = _form(client).json()
    assert "photo" not in plain and "photo_location" not in plain
    assert reader.images == [True, False]  # the crop is made only when asked for


def test_photo_left_out_without_a_portrait() -> None:
    reading = with_checks(make_reading("front"), portrait=False)
    answer = _form(TestClient(make_app(FakeReader(reading))), detect_photo="true").json()
    assert "photo" not in answer and "photo_location" not in answer


@pytest.mark.parametrize("status", ["blurred", "over_exposure", "over_dark", "other_type_card", "reversed_side"])
def test_image_status_from_the_quality_checks(status: str) -> None:
    reading = with_checks(make_reading("front"), image_status=status)
    assert _form(TestClient(make_app(FakeReader(reading)))).json()["image_status"] == status


def test_image_status_unknown_falls_back_to_the_side_found() -> None:
    reading = with_checks(make_reading("back"), image_status="unknown")
    assert _form(TestClient(make_app(FakeReader(reading)))).json()["image_status"] == "reversed_side"


@pytest.mark.parametrize(("rotation", "code"), [(0, 0), (90, 3), (180, 2), (270, 1)])
def test_direction_codes(rotation: int, code: int) -> None:
    client = TestClient(make_app(FakeReader(make_reading("front", rotation=rotation))))
    assert _form(client, detect_direction="true").json()["direction"] == code


def test_url_image_and_rectify_flag() -> None:
    reader = FakeReader()
    client = TestClient(make_app(reader, url_allowlist=["127.0.0.1/32"]))
    with image_server({"/id.jpg": (200, {}, PNG)}) as base:
        r = _form(client, image=f"{base}/id.jpg", detect_rectify="false")
        assert r.status_code == 200
        assert _form(client, image=f"{base}/id.jpg").status_code == 200
    assert reader.rectify == [False, True]  # detect_rectify defaults to true


def test_double_urlencoded_base64() -> None:
    body = urllib.parse.urlencode({"id_card_side": "front", "image": urllib.parse.quote(PNG_B64, safe="")})
    r = TestClient(make_app()).post(
        URL, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200


def test_reversed_side() -> None:
    body = _form(TestClient(make_app(FakeReader(make_reading("back"))))).json()
    assert body["image_status"] == "reversed_side"
    assert body["msg"]["name"] == ""
    assert body["msg"]["valid"] is False
    assert body["idcard_number_type"] == -1
    assert body["words_result"] == {}
    assert body["words_result_num"] == 0


@pytest.mark.parametrize(
    ("checks", "code"),
    [
        (Checks(checksum=False), 0),
        (Checks(checksum=True, birth_matches=True, sex_matches=True), 1),
        (Checks(checksum=True, birth_matches=False, sex_matches=False), 2),
        (Checks(checksum=True, birth_matches=False, sex_matches=True), 3),
        (Checks(checksum=True, birth_matches=True, sex_matches=False), 4),
    ],
)
def test_idcard_number_type(checks: Checks, code: int) -> None:
    body = _form(TestClient(make_app(FakeReader(make_reading("front", checks=checks))))).json()
    assert body["idcard_number_type"] == code
    assert body["msg"]["valid"] is (checks.checksum is True)


def _error(response, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == status
    assert body["error_msg"] == message
    assert isinstance(body["log_id"], int)


def test_460_invalid_json() -> None:
    r = TestClient(make_app()).post(URL, content=b'{"image": ', headers={"Content-Type": "application/json"})
    _error(r, 460, "Invalid Input - failed to parse json")


def test_461_json_format_errors() -> None:
    client = TestClient(make_app())
    _error(
        client.post(URL, json={"id_card_side": "front"}),
        461,
        "Invalid Input - json format error - missing key: image",
    )
    _error(
        client.post(URL, json={"id_card_side": "front", "image": 1}),
        461,
        "Invalid Input - json format error - image format error",
    )
    _error(
        client.post(URL, json={"image": PNG_B64}),
        461,
        "Invalid Input - json format error - missing key: id_card_side",
    )
    _error(
        client.post(URL, json={"image": PNG_B64, "id_card_side": "top"}),
        461,
        "Invalid Input - json format error - json parse runtime exception",
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("", "input image empty, please check your image binary data"),
        ("data:image/jpg;base64," + PNG_B64, "please remove additional header: data:image/jpg:base64"),
        ("abcde", "base64decode error: incorrect padding in base64 string"),
        ("ab*d", "base64decode error: base64decode error: incorrect base64 format data"),
        ("aGVsbG8=", "image decode failed, please check your image binary data"),
        ("http://10.0.0.1/id.jpg", "download image from url error"),
    ],
)
def test_462_image_data_errors(image: str, message: str) -> None:
    r = TestClient(make_app()).post(URL, json={"id_card_side": "front", "image": image})
    _error(r, 462, "Invalid Input - image data error - " + message)


def test_463_not_an_id_card() -> None:
    _error(
        _form(TestClient(make_app(FakeReader(make_reading("none"))))), 463, "Invalid Input - wrong category"
    )


def test_464_image_size_and_failure() -> None:
    big = TestClient(make_app(FakeReader(make_reading("front", image_size=(4097, 3000)))))
    _error(_form(big), 464, "Invalid Result - image size does not meet the requirements")
    _error(
        _form(TestClient(make_app(FakeReader(RuntimeError("x"))))),
        464,
        "Invalid Result - algorithm runtime exception",
    )


def test_413_payload_too_large() -> None:
    r = TestClient(make_app(max_body_bytes=4096)).post(
        URL, json={"id_card_side": "front", "image": "A" * 8000}
    )
    _error(r, 413, "Payload Too Large")
    assert r.headers["X-Ca-Error-Message"] == "Payload Too Large"


def test_403_appcode() -> None:
    client = TestClient(make_app(api_keys={"aliyun_do": ["0123abcd"]}))
    _error(client.post(URL, json={"id_card_side": "front", "image": PNG_B64}), 403, "Forbidden")
    wrong = client.post(
        URL, json={"id_card_side": "front", "image": PNG_B64}, headers={"Authorization": "APPCODE x"}
    )
    _error(wrong, 403, "Forbidden")
    assert _form(client).status_code == 200


def test_450_queue_full() -> None:
    r = _form(TestClient(busy_app()))
    _error(r, 450, "后端服务队列满,请求被拒绝,重试即可")
    assert r.headers["Retry-After"] == "1"
