"""End to end over HTTP: the real reader on rendered cards (front, back, both sides, rotated, no card),
through our API and each vendor's, against a live uvicorn on loopback."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from server_helpers import image_server, live_server

from idcard_ocr.server import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
synth = pytest.importorskip("tools.synth")

pytestmark = pytest.mark.e2e
TOKEN = "Zjc0ZGF1NzgyMzVhMDVjMGQ3YmIxMDY2M2ZkOTRiNTczMjg5NGQxMw=="
CASES = {  # name: (seed, condition); the renderer is deterministic
    "front": (1, "clean"),
    "back": (2, "clean"),
    "both": (1, "both_sides"),
    "rotated": (3, "rot90"),
    "none": (1, "neg_document"),
}


class Card:
    def __init__(self, seed: int, condition: str) -> None:
        sample = synth.make_sample(seed, condition)
        ok, buf = cv2.imencode(".jpg", sample.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        self.jpeg = buf.tobytes()
        self.b64 = base64.b64encode(self.jpeg).decode()
        self.truth = sample.truth

    def field(self, name: str) -> str:
        value: str = self.truth.fields[name]
        return value


@pytest.fixture(scope="module")
def cards() -> dict[str, Card]:
    return {name: Card(seed, condition) for name, (seed, condition) in CASES.items()}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    settings = Settings(url_allowlist=["127.0.0.1/32"], api_keys={"pai_eas": [TOKEN]})
    with live_server(create_app(settings)) as url:  # the real reader, warmed before serving
        yield url


def _post(base: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(base + path, timeout=60, **kwargs)


@pytest.mark.parametrize("case", list(CASES))
def test_native(base: str, cards: dict[str, Card], case: str) -> None:
    card = cards[case]
    r = _post(base, "/v1/idcard", json={"image": card.b64})
    assert r.status_code == 200
    body = r.json()
    assert body["side"] == card.truth.side
    assert body["rotation"] == card.truth.rotation
    assert {k: f["value"] for k, f in body["fields"].items()} == card.truth.fields
    assert body["image_size"] == list(card.truth.image_size)


def _jpeg_size(b64: str) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image.shape[1], image.shape[0]


def test_native_return_card_and_checks(base: str, cards: dict[str, Card]) -> None:
    card = cards["front"]
    body = _post(base, "/v1/idcard", json={"image": card.b64, "return_card": True}).json()
    width, height = _jpeg_size(body["card_image"])
    assert 1.4 < width / height < 1.8  # the straightened card, 85.6 x 54 mm
    assert body["portrait_image"] is None
    assert body["portrait"] is not None and body["risk"] is not None and body["quality"] is not None


def test_aliyun_market_both_and_none(base: str, cards: dict[str, Card]) -> None:
    both = cards["both"]
    r = _post(base, "/idcard/ocr", json={"image": "data:image/jpeg;base64," + both.b64})
    assert r.status_code == 200
    year, month, day = both.field("birth").split("-")
    expiry = both.field("valid_to")
    assert r.json() == {
        "status": 200,
        "msg": "请求成功",
        "data": {
            "type": "all",
            "authority": both.field("authority"),
            "issuing_date": both.field("valid_from").replace("-", "."),
            "expiry_date": expiry.replace("-", "."),
            "name": both.field("name"),
            "sex": both.field("sex"),
            "nation": both.field("nation"),
            "birth_date": f"{year}年{int(month)}月{int(day)}日",
            "year": year,
            "month": str(int(month)),
            "day": str(int(day)),
            "address": both.field("address"),
            "number": both.field("number"),
        },
    }
    r = _post(base, "/idcard/ocr", json={"image": cards["none"].b64})
    assert (r.status_code, r.json()) == (500, {"status": 500, "msg": "请求失败，未识别到身份证"})


def test_faceplusplus_front_and_back(base: str, cards: dict[str, Card]) -> None:
    creds = {"api_key": "k", "api_secret": "s"}
    front = cards["rotated"]
    r = _post(base, "/faceid/v1/ocridcard", data=creds, files={"image": ("id.jpg", front.jpeg, "image/jpeg")})
    body = r.json()
    year, month, day = front.field("birth").split("-")
    assert body["side"] == "front"
    assert (body["name"], body["gender"], body["race"]) == (
        front.field("name"),
        front.field("sex"),
        front.field("nation"),
    )
    assert (body["address"], body["id_card_number"]) == (front.field("address"), front.field("number"))
    assert body["birthday"] == {"year": year, "month": str(int(month)), "day": str(int(day))}
    assert list(body["head_rect"]) == ["rt", "lt", "lb", "rb"]
    assert "legality" not in body
    back = cards["back"]
    creds = {**creds, "legality": "1"}
    r = _post(base, "/faceid/v1/ocridcard", data=creds, files={"image": ("id.jpg", back.jpeg, "image/jpeg")})
    assert sum(r.json()["legality"].values()) == pytest.approx(1.0, abs=1e-9)
    valid = back.field("valid_from").replace("-", ".") + "-" + back.field("valid_to").replace("-", ".")
    assert {k: r.json()[k] for k in ("side", "issued_by", "valid_date")} == {
        "side": "back",
        "issued_by": back.field("authority"),
        "valid_date": valid,
    }


def test_huawei_base64_front_and_url_back(base: str, cards: dict[str, Card]) -> None:
    front = cards["front"]
    r = _post(base, "/v1.0/ocr/id-card", json={"image": front.b64, "side": "front"})
    assert r.json() == {
        "result": {
            "name": front.field("name"),
            "sex": front.field("sex"),
            "ethnicity": front.field("nation"),
            "birth": front.field("birth"),
            "address": front.field("address"),
            "number": front.field("number"),
        }
    }
    back = cards["back"]
    with image_server({"/ObjectName": (200, {"Content-Type": "image/jpeg"}, back.jpeg)}) as images:
        r = _post(base, "/v2/p1/ocr/id-card", json={"url": f"{images}/ObjectName", "side": "back"})
    assert r.json() == {
        "result": {
            "issue": back.field("authority"),
            "valid_from": back.field("valid_from"),
            "valid_to": back.field("valid_to"),
        }
    }


def test_aliyun_do_rotated_and_not_a_card(base: str, cards: dict[str, Card]) -> None:
    card = cards["rotated"]
    form = {"id_card_side": "front", "image": card.b64, "detect_direction": "true", "detect_photo": "true",
            "detect_risk": "true"}
    body = _post(base, "/do", data=form).json()
    assert body["risk_type"] in ("normal", "copy", "temporary", "screen", "unknown")
    loc = body["photo_location"]
    assert loc["width"] > 0 and loc["height"] > 0
    assert _jpeg_size(body["photo"])[0] > 0
    assert body["direction"] == 3  # the card is turned 90 degrees clockwise: the seed's code for 270 ccw
    assert body["image_status"] == "normal"
    assert body["idcard_number_type"] == 1
    assert body["msg"] == {
        "valid": True,
        "name": card.field("name"),
        "birthday": card.field("birth").replace("-", ""),
        "sex": card.field("sex"),
        "idcardno": card.field("number"),
        "address": card.field("address"),
        "nation": card.field("nation"),
    }
    assert body["words_result_num"] == 6
    width, height = card.truth.image_size
    for item in body["words_result"].values():
        loc = item["location"]
        assert 0 <= loc["left"] < width and 0 <= loc["top"] < height
        assert loc["width"] > 0 and loc["height"] > 0
    r = _post(base, "/do", data={"id_card_side": "front", "image": cards["none"].b64})
    assert (r.status_code, r.json()["error_msg"]) == (463, "Invalid Input - wrong category")


def test_pai_eas_vendor_client_and_back(base: str, cards: dict[str, Card], tmp_path: Path) -> None:
    front = cards["front"]
    image = tmp_path / "card.jpg"
    image.write_bytes(front.jpeg)
    source = (Path(__file__).parent / "fixtures" / "pai_eas_client.py").read_text(encoding="utf-8")
    source = source.replace("http://1819148878156702.cn-chengdu.pai-eas.aliyuncs.com", base)
    source = source.replace('r"身份证照片地址"', repr(str(image)))
    script = tmp_path / "client.py"
    script.write_text(source, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "key code value 200" in out.stdout
    assert f"id_no value {front.field('number')}" in out.stdout
    assert f"birth value {front.field('birth').replace('-', '.')}" in out.stdout
    assert "img_np (" in out.stdout  # the vendor's client decodes idcard_image

    back = cards["back"]
    r = _post(base, "/api/predict/idcard_ocr", data={"info": "x", "data": back.b64}, headers={"Authorization": TOKEN})
    envelope = json.loads(base64.b64decode(r.text))
    data = json.loads(envelope["data"])
    assert envelope["code"] == "200"
    assert data["issued_by"] == back.field("authority")
    assert data["type"] == "back"


def test_aliyun_do_detect_rectify_false_reads_a_number_strip(base: str, cards: dict[str, Card]) -> None:
    # A caller who already cut out the number strip sends just that, with detect_rectify=false.
    from idcard_ocr.locate import straighten

    card = cards["front"]
    sample = synth.make_sample(*CASES["front"])
    upright = straighten(sample.image, np.array(card.truth.quads[0], np.float32))
    strip = upright[425:505, 240:840]  # 42.5-50.5 mm down, 24-84 mm across: the number and nothing else
    ok, buf = cv2.imencode(".png", strip)
    assert ok
    form = {"id_card_side": "front", "image": base64.b64encode(buf.tobytes()).decode(), "detect_rectify": "false"}
    body = _post(base, "/do", data=form).json()
    assert body["msg"]["idcardno"] == card.field("number")
    assert body["msg"]["valid"] is True
    # the same strip, rectify left on, has no card in it to find
    form.pop("detect_rectify")
    r = _post(base, "/do", data=form)
    assert (r.status_code, r.json()["error_msg"]) == (463, "Invalid Input - wrong category")
