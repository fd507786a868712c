"""Seed 000, Alibaba Cloud market 身份证图片 OCR 识别接口: POST /idcard/ocr.

Request: JSON ``{"image": data URI | raw base64 | http(s) URL}``, header ``Authorization: APPCODE <code>``.
Answer: ``{"status": 200, "msg": "请求成功", "data": {type, ...}}`` with ``type`` front | back | all.
Errors: ``{"status": <code>, "msg": "请求失败，..."}`` with the same HTTP status; the market gateway's own
refusals (AppCode, body size) also carry ``X-Ca-Error-Message`` as the gateway does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, example, recognize, request_body
from idcard_ocr.server.inputs import image_from_string, read_params
from idcard_ocr.server.mapping import dotted, sides, unpadded, value, ymd
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "aliyun_market"
BODY_LIMIT = 8 * 1024 * 1024  # the market API gateway's request body limit
router = APIRouter(tags=["Alibaba Cloud market /idcard/ocr"])
_BODY = request_body(
    {"image": {"type": "string", "description": "data URI, base64 or http(s) URL"}}, ["image"], "application/json"
)

_IMAGE_FORMAT = "请求失败，图片格式错误"
_IMAGE_SIZE = "请求失败，图片尺寸不符合要求"
# kind -> (status, msg, X-Ca-Error-Message or None)
ERRORS: dict[Kind, tuple[int, str, str | None]] = {
    Kind.BAD_BODY: (500, "请求失败，请求体不是合法的 JSON", None),
    Kind.BAD_TYPE: (500, "请求失败，参数格式错误: image", None),
    Kind.EMPTY_IMAGE: (500, "请求失败，缺少必要参数: image", None),
    Kind.BASE64_PADDING: (500, _IMAGE_FORMAT, None),
    Kind.BASE64_CHARS: (500, _IMAGE_FORMAT, None),
    Kind.DATA_URI_HEADER: (500, _IMAGE_FORMAT, None),
    Kind.UNDECODABLE: (500, _IMAGE_FORMAT, None),
    Kind.IMAGE_TOO_SMALL: (500, _IMAGE_SIZE, None),
    Kind.IMAGE_TOO_LARGE: (500, _IMAGE_SIZE, None),
    Kind.URL_REFUSED: (500, "请求失败，图片下载失败", None),
    Kind.URL_FETCH_FAILED: (500, "请求失败，图片下载失败", None),
    Kind.NO_CARD: (500, "请求失败，未识别到身份证", None),
    Kind.BODY_TOO_LARGE: (413, "请求失败，请求体过大", "Request body too Large"),
    Kind.AUTH_MISSING: (403, "请求失败，AppCode 无效", "Invalid AppCode"),
    Kind.AUTH_REFUSED: (403, "请求失败，AppCode 无效", "Invalid AppCode `not exists`"),
    Kind.BUSY: (503, "请求失败，服务繁忙，请稍后重试", None),
    Kind.INTERNAL: (500, "请求失败，服务内部错误", None),
}


def to_data(reading: Reading) -> dict[str, str]:
    """The ``data`` object for a Reading; raises NO_CARD when no side was read."""
    shown = sides(reading)
    if not shown:
        raise ApiError(Kind.NO_CARD)
    data = {"type": "all" if shown == {"front", "back"} else shown.pop()}
    if data["type"] in ("back", "all"):
        data["authority"] = value(reading, "authority")
        data["issuing_date"] = dotted(value(reading, "valid_from"))
        data["expiry_date"] = dotted(value(reading, "valid_to"))
    if data["type"] in ("front", "all"):
        birth = ymd(value(reading, "birth"))
        year, month, day = (birth[0], unpadded(birth[1]), unpadded(birth[2])) if birth else ("", "", "")
        data["name"] = value(reading, "name")
        data["sex"] = value(reading, "sex")
        data["nation"] = value(reading, "nation")
        data["birth_date"] = f"{year}年{month}月{day}日" if birth else ""
        data["year"], data["month"], data["day"] = year, month, day
        data["address"] = value(reading, "address")
        data["number"] = value(reading, "number")
    return data


def to_body(reading: Reading) -> dict[str, Any]:
    return {"status": 200, "msg": "请求成功", "data": to_data(reading)}


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /idcard/ocr answers for ``reading`` (its error body when it refuses it)."""
    return example(lambda ctx: to_body(reading), error_response)


def error_response(err: ApiError, ctx: Ctx) -> Response:
    if err.kind is Kind.MISSING_PARAM:
        status, msg, gateway = 500, f"请求失败，缺少必要参数: {err.param}", None
    else:
        status, msg, gateway = ERRORS.get(err.kind, (500, "请求失败，参数错误", None))
    headers = {"X-Ca-Error-Message": gateway} if gateway else {}
    return JSONResponse({"status": status, "msg": msg}, status_code=status, headers=headers)


async def _work(request: Request, ctx: Ctx) -> Response:
    auth.check(request, VENDOR, auth.header_after(request, "Authorization", "APPCODE"))
    params = await read_params(request, body_limit(request, BODY_LIMIT))
    image_param: Any = params.files.get("image") or params.values.get("image")
    if image_param is None or image_param == "":
        raise ApiError(Kind.MISSING_PARAM, "image")
    image = image_param if isinstance(image_param, bytes) else await image_from_string(request, image_param)
    reading = await recognize(request, image)
    return JSONResponse(to_body(reading))


@router.post("/idcard/ocr", openapi_extra=_BODY, summary="身份证图片 OCR 识别 (Alibaba Cloud market compatible)")
async def idcard_ocr(request: Request) -> Response:
    return await answer(request, _work, error_response)
