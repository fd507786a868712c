"""Seed 002, Huawei Cloud OCR 身份证识别: POST /v1.0/ocr/id-card (and /v2/{project_id}/ocr/id-card).

Request: JSON with ``image`` (base64, <= 10 MB, 15-8000 px) or ``url``, optional ``side`` front | back;
header ``X-Auth-Token`` (a plain token), or the AK/SK signature huaweicloudsdkocr sends
(``Authorization: SDK-HMAC-SHA256 ...``, ``X-Sdk-Date``; verified in auth.verify_huawei).
Answer: ``{"result": {name, sex, ethnicity, birth, address, number}}`` or ``{"result": {issue, valid_from,
valid_to}}``. Errors: ``{"error_code": ..., "error_msg": ...}`` with Huawei's codes and messages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, check_pixels, example, recognize, request_body
from idcard_ocr.server.inputs import decode_image_string, params_of
from idcard_ocr.server.mapping import pick_side, sides, value
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "huawei"
BODY_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # image <= 10 MB after base64, plus the rest of the JSON
MIN_SIDE, MAX_SIDE = 15, 8000
router = APIRouter(tags=["Huawei Cloud OCR /v1.0/ocr/id-card"])
_BODY = request_body(
    {
        "image": {"type": "string", "description": "base64"},
        "url": {"type": "string"},
        "side": {"type": "string", "enum": ["front", "back"]},
    },
    [],
    "application/json",
)

_INVALID = (400, "AIS.0101", "The input parameter is invalid.")
_FORMAT = (400, "AIS.0102", "The image format is not supported.")
_SIZE = (400, "AIS.0103", "The image size does not meet the requirements.")
_NOT_CARD = (400, "AIS.0104", "The image is not supported or the image quality is poor.")
_URL = (400, "ModelArts.4603", "Obtaining the file from the URL failed.")
ERRORS: dict[Kind, tuple[int, str, str]] = {
    Kind.BAD_BODY: _INVALID,
    Kind.BAD_TYPE: _INVALID,
    Kind.MISSING_PARAM: _INVALID,
    Kind.INVALID_PARAM: _INVALID,
    Kind.EMPTY_IMAGE: _INVALID,
    Kind.BASE64_PADDING: _FORMAT,
    Kind.BASE64_CHARS: _FORMAT,
    Kind.DATA_URI_HEADER: _FORMAT,
    Kind.UNDECODABLE: _FORMAT,
    Kind.IMAGE_TOO_SMALL: _SIZE,
    Kind.IMAGE_TOO_LARGE: _SIZE,
    Kind.NO_CARD: _NOT_CARD,
    Kind.WRONG_SIDE: _NOT_CARD,
    Kind.URL_REFUSED: _URL,
    Kind.URL_FETCH_FAILED: _URL,
    Kind.BODY_TOO_LARGE: (400, "ModelArts.4104", "Invalid Request Content Length."),
    Kind.AUTH_MISSING: (401, "ModelArts.4101", "Token header cannot be empty."),
    Kind.AUTH_REFUSED: (401, "ModelArts.0203", "Invalid token."),
    # AK/SK signatures: API Gateway answers for the cloud services, as Huawei's FAQs quote them
    Kind.AUTH_EXPIRED: (401, "APIG.0301", "Incorrect IAM authentication information: calc ak sk signature fail:"
                                          "signature expired"),
    Kind.AUTH_REPLAYED: (401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail, "
                                           "signature already used"),
    Kind.BUSY: (429, "APIG.0308", "The throttling threshold has been reached."),
    Kind.INTERNAL: (500, "AIS.0105", "Recognition failed."),
}


def to_result(reading: Reading, wanted: str | None) -> dict[str, str]:
    """``result`` for a Reading; without ``side`` the front is preferred when both are shown."""
    side = pick_side(reading, wanted)
    if side is None:
        raise ApiError(Kind.WRONG_SIDE if sides(reading) else Kind.NO_CARD)
    if side == "front":
        return {
            "name": value(reading, "name"),
            "sex": value(reading, "sex"),
            "ethnicity": value(reading, "nation"),
            "birth": value(reading, "birth"),
            "address": value(reading, "address"),
            "number": value(reading, "number"),
        }
    return {
        "issue": value(reading, "authority"),
        "valid_from": value(reading, "valid_from"),
        "valid_to": value(reading, "valid_to"),
    }


def to_body(reading: Reading, wanted: str | None) -> dict[str, Any]:
    """The answer for a Reading: the image size bounds enforced, then ``result``."""
    check_pixels(reading, MIN_SIDE, MAX_SIDE)
    return {"result": to_result(reading, wanted)}


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /v1.0/ocr/id-card answers for ``reading`` without ``side`` (its error body when it refuses)."""
    return example(lambda ctx: to_body(reading, None), error_response)


_BAD_SIGNATURE = (401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail")


def error_response(err: ApiError, ctx: Ctx) -> Response:
    if err.kind is Kind.AUTH_REFUSED and err.param == "Authorization":
        status, code, message = _BAD_SIGNATURE  # a refused AK/SK signature, not a refused X-Auth-Token
    else:
        status, code, message = ERRORS.get(err.kind, _INVALID)
    return JSONResponse({"error_code": code, "error_msg": message}, status_code=status)


async def _work(request: Request, ctx: Ctx) -> Response:
    body = await auth.read_huawei(request, body_limit(request, BODY_LIMIT))
    params = (await params_of(request, body)).values
    image, url, side = params.get("image"), params.get("url"), params.get("side")
    if side in (None, ""):
        side = None
    elif side not in ("front", "back"):
        raise ApiError(Kind.INVALID_PARAM, "side")
    if bool(image) == bool(url):
        raise ApiError(Kind.INVALID_PARAM, "image", "give exactly one of image and url")
    if image:
        if not isinstance(image, str):
            raise ApiError(Kind.BAD_TYPE, "image")
        data = decode_image_string(image)
    else:
        if not isinstance(url, str):
            raise ApiError(Kind.BAD_TYPE, "url")
        data = await request.app.state.fetcher.fetch(url)
    reading = await recognize(request, data, side or "auto")
    return JSONResponse(to_body(reading, side))


@router.post("/v1.0/ocr/id-card", openapi_extra=_BODY, summary="身份证识别 (Huawei Cloud OCR compatible)")
async def id_card_v1(request: Request) -> Response:
    return await answer(request, _work, error_response)


@router.post(
    "/v2/{project_id}/ocr/id-card", openapi_extra=_BODY, summary="身份证识别, v2 path (Huawei Cloud OCR compatible)"
)
async def id_card_v2(request: Request, project_id: str) -> Response:
    return await answer(request, _work, error_response)
