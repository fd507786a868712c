"""Seed 003, Alibaba Cloud market 身份证识别 + 翻拍检测 (public address ending in /do): POST /do.

Request (form-urlencoded or JSON): ``id_card_side`` front | back (required), ``image`` (http(s) URL, or base64
without a data: prefix, url-encoded; <= 4 MB, 15-4096 px), ``detect_direction``, ``detect_risk``,
``detect_photo``, ``detect_rectify`` ("true"/"false"); header ``Authorization: APPCODE <code>``.
Answer: ``msg`` (the side's fields), ``image_status``, ``idcard_number_type`` (front), ``words_result``
with ``location``/``words`` per field, ``words_result_num``, ``log_id``; when asked: ``direction``,
``risk_type`` (+ ``edit_tool`` when the file names an editor) and ``photo`` / ``photo_location`` (when a
photo was placed on a front).
``image_status`` is the quality checks' status (normal, reversed_side, blurred, over_exposure, ...); when
they did not judge it, normal / reversed_side from the side found. ``risk_type`` uses the seed's words:
normal, copy, temporary, screen; an edited image is "unknown" (the seed has no word for it; ``edit_tool``
names the editor when the file's metadata does).
Errors: the seed's HTTP status and ``{"error_code": <status>, "error_msg": <message>, "log_id": ...}``;
ASCII messages are also sent in ``X-Ca-Error-Message`` as the market gateway does. A non-card answers 463
as the seed says.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, check_pixels, example, recognize, request_body
from idcard_ocr.server.inputs import image_from_string, read_params
from idcard_ocr.server.mapping import box_rect, compact, pick_side, side_fields, sides, value
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "aliyun_do"
BODY_LIMIT = 4 * 1024 * 1024 + 64 * 1024  # image <= 4 MB after base64 + urlencode, plus the other fields
MIN_SIDE, MAX_SIDE = 15, 4096
router = APIRouter(tags=["Alibaba Cloud market 身份证识别 /do"])
_FLAG = {"type": "string", "enum": ["true", "false"]}
_BODY = request_body(
    {
        "id_card_side": {"type": "string", "enum": ["front", "back"]},
        "image": {"type": "string", "description": "http(s) URL or base64 without a data: prefix"},
        "detect_direction": _FLAG,
        "detect_risk": _FLAG,
        "detect_photo": _FLAG,
        "detect_rectify": _FLAG,
    },
    ["id_card_side", "image"],
    "application/x-www-form-urlencoded",
    "application/json",
)

_JSON = "Invalid Input - json format error - "
_DATA = "Invalid Input - image data error - "
ERRORS: dict[Kind, tuple[int, str]] = {
    Kind.BAD_BODY: (460, "Invalid Input - failed to parse json"),
    Kind.BAD_TYPE: (461, _JSON + "image format error"),
    Kind.INVALID_PARAM: (461, _JSON + "json parse runtime exception"),
    Kind.EMPTY_IMAGE: (462, _DATA + "input image empty, please check your image binary data"),
    Kind.DATA_URI_HEADER: (462, _DATA + "please remove additional header: data:image/jpg:base64"),
    Kind.BASE64_PADDING: (462, _DATA + "base64decode error: incorrect padding in base64 string"),
    Kind.BASE64_CHARS: (462, _DATA + "base64decode error: base64decode error: incorrect base64 format data"),
    Kind.UNDECODABLE: (462, _DATA + "image decode failed, please check your image binary data"),
    Kind.URL_REFUSED: (462, _DATA + "download image from url error"),
    Kind.URL_FETCH_FAILED: (462, _DATA + "download image from url error"),
    Kind.NO_CARD: (463, "Invalid Input - wrong category"),
    Kind.IMAGE_TOO_SMALL: (464, "Invalid Result - image size does not meet the requirements"),
    Kind.IMAGE_TOO_LARGE: (464, "Invalid Result - image size does not meet the requirements"),
    Kind.BODY_TOO_LARGE: (413, "Payload Too Large"),
    Kind.AUTH_MISSING: (403, "Forbidden"),
    Kind.AUTH_REFUSED: (403, "Forbidden"),
    Kind.BUSY: (450, "后端服务队列满,请求被拒绝,重试即可"),
    Kind.INTERNAL: (464, "Invalid Result - algorithm runtime exception"),
}
# counter-clockwise code of the seed from the clockwise rotation of the card in the image
DIRECTION = {0: 0, 90: 3, 180: 2, 270: 1}
WORDS_FRONT = (
    ("住址", "address"),
    ("公民身份号码", "number"),
    ("出生", "birth"),
    ("姓名", "name"),
    ("性别", "sex"),
    ("民族", "nation"),
)
WORDS_BACK = (("失效日期", "valid_to"), ("签发机关", "authority"), ("签发日期", "valid_from"))
DATES = {"birth", "valid_from", "valid_to"}
# risk_type in the seed's vocabulary from Risk.kind; "edited" has no word of its own there
RISK_TYPE = {"original": "normal", "photocopy": "copy", "temporary": "temporary", "screen": "screen"}


def log_id(ctx: Ctx) -> int:
    """A uint64 (kept below 2**63 for every JSON client) derived from the request id."""
    return int.from_bytes(hashlib.blake2b(ctx.request_id.encode(), digest_size=8).digest(), "big") >> 1


def flag(params: dict[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() == "true"


def number_type(reading: Reading) -> int:
    """idcard_number_type as the seed defines it, from the core's cross-checks."""
    if not side_fields(reading, "front"):
        return -1
    checks = reading.checks
    if checks.checksum is not True:
        return 0
    birth_bad, sex_bad = checks.birth_matches is False, checks.sex_matches is False
    if birth_bad and sex_bad:
        return 2
    return 3 if birth_bad else 4 if sex_bad else 1


def words_result(reading: Reading, side: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for label, name in WORDS_FRONT if side == "front" else WORDS_BACK:
        field = reading.fields.get(name)
        if field is None:
            continue
        left, top, width, height = box_rect(field.box)
        words = compact(field.value) if name in DATES else field.value
        out[label] = {
            "location": {"left": left, "top": top, "width": width, "height": height},
            "words": words,
        }
    return out


def to_body(
    reading: Reading, wanted: str, ctx: Ctx, *, direction: bool, risk: bool, photo: bool = False
) -> dict[str, Any]:
    """The answer for a Reading read as ``wanted``; raises NO_CARD (463) when no card side was read."""
    shown = sides(reading)
    if not shown:
        raise ApiError(Kind.NO_CARD)
    found = pick_side(reading, wanted) == wanted
    body: dict[str, Any] = {}
    if wanted == "front":
        body["msg"] = {
            "valid": found and reading.checks.checksum is True,
            "name": value(reading, "name") if found else "",
            "birthday": compact(value(reading, "birth")) if found else "",
            "sex": value(reading, "sex") if found else "",
            "idcardno": value(reading, "number") if found else "",
            "address": value(reading, "address") if found else "",
            "nation": value(reading, "nation") if found else "",
        }
    else:
        body["msg"] = {
            "gov": value(reading, "authority") if found else "",
            "begindate": compact(value(reading, "valid_from")) if found else "",
            "enddate": compact(value(reading, "valid_to")) if found else "",
        }
    if direction:
        card = next((c for c in reading.cards if c.side == wanted), None)
        body["direction"] = DIRECTION.get(card.rotation if card else reading.rotation, -1) if found else -1
    status = reading.quality.image_status if reading.quality is not None else "unknown"
    body["image_status"] = status if status != "unknown" else "normal" if found else "reversed_side"
    if risk:
        body["risk_type"] = RISK_TYPE.get(reading.risk.kind, "unknown") if reading.risk is not None else "unknown"
        if reading.risk is not None and reading.risk.edit_tool:
            body["edit_tool"] = reading.risk.edit_tool
    if photo and reading.portrait is not None and reading.portrait_image is not None:
        left, top, width, height = reading.portrait.box
        body["photo"] = reading.portrait_image
        body["photo_location"] = {"left": left, "top": top, "width": width, "height": height}
    if wanted == "front":
        body["idcard_number_type"] = number_type(reading) if found else -1
    words = words_result(reading, wanted) if found else {}
    body["words_result"] = words
    body["words_result_num"] = len(words)
    body["log_id"] = log_id(ctx)
    return body


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /do answers for ``reading`` asked for the side found (the front first) with the detect_*
    options off; its error body when it refuses the reading (no card: 463)."""

    def build(ctx: Ctx) -> dict[str, Any]:
        check_pixels(reading, MIN_SIDE, MAX_SIDE)
        wanted = pick_side(reading, None) or "front"
        return to_body(reading, wanted, ctx, direction=False, risk=False)

    return example(build, error_response)


def error_response(err: ApiError, ctx: Ctx) -> Response:
    if err.kind is Kind.MISSING_PARAM:
        status, message = 461, f"{_JSON}missing key: {err.param}"
    else:
        status, message = ERRORS.get(err.kind, ERRORS[Kind.INVALID_PARAM])
    headers = {"X-Ca-Error-Message": message} if message.isascii() else {}
    body = {"error_code": status, "error_msg": message, "log_id": log_id(ctx)}
    return JSONResponse(body, status_code=status, headers=headers)


async def _work(request: Request, ctx: Ctx) -> Response:
    auth.check(request, VENDOR, auth.header_after(request, "Authorization", "APPCODE"))
    params = (await read_params(request, body_limit(request, BODY_LIMIT))).values
    if "image" not in params:
        raise ApiError(Kind.MISSING_PARAM, "image")
    if "id_card_side" not in params:
        raise ApiError(Kind.MISSING_PARAM, "id_card_side")
    side = params["id_card_side"]
    if side not in ("front", "back"):
        raise ApiError(Kind.INVALID_PARAM, "id_card_side")
    image = params["image"]
    if isinstance(image, str) and "%" in image:  # url-encoded once more than the form encoding removes
        image = urllib.parse.unquote(image)
    data = await image_from_string(request, image, data_uri=False)
    photo = flag(params, "detect_photo")
    # detect_rectify=false: the image is a region cut from a card (the number strip, say), read as it is
    rectify = flag(params, "detect_rectify", default=True)
    reading = await recognize(request, data, side, images=photo, rectify=rectify)
    check_pixels(reading, MIN_SIDE, MAX_SIDE)
    body = to_body(
        reading, side, ctx, direction=flag(params, "detect_direction"), risk=flag(params, "detect_risk"), photo=photo
    )
    return JSONResponse(body)


@router.post("/do", openapi_extra=_BODY, summary="身份证识别/翻拍检测 (Alibaba Cloud market compatible)")
async def do(request: Request) -> Response:
    return await answer(request, _work, error_response)
