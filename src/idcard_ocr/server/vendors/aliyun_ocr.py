"""Alibaba Cloud OCR RecognizeIdcard (API 2021-07-07): POST / with ``x-acs-action: RecognizeIdcard``.

Request: the image's raw bytes as the body (<= 10 MB, 15-8192 px) or ``Url`` in the query (not both);
``OutputFigure`` and ``OutputQualityInfo`` ("true"/"false") in the query; signed with ACS3-HMAC-SHA256
(auth.check_acs3) when keys are configured.
Answer: ``{"RequestId", "Data"}`` where Data is a JSON string: ``{"data": {"face" | "back": {"data": {...},
"prism_keyValueInfo", "ftype", "angle", "sliceRect", "width", "height", "orgWidth", "orgHeight", "warning"?,
"figure"?}}, "width", "height", "orgWidth", "orgHeight"}``. Front ``data``: name, sex, ethnicity, birthDate
("1986年1月9日"), address, idNumber; back: issueAuthority, validPeriod ("2016.06.28-2026.06.28"). ``warning``
(OutputQualityInfo): isCopy, isReshoot, qualityScore, tamperScore (the edited probability x 100) and
completenessScore (100, or 0 when the card is cut off or covered); ``figure`` (OutputFigure): the portrait.
Coordinates are in the original image (we do not hand back a rectified image, so width = orgWidth).
Errors: Alibaba's HTTP status and ``{"RequestId", "HostId", "Code", "Message", "Recommend"}``.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.model import Field, Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, check_pixels, example, recognize
from idcard_ocr.server.mapping import sides, unpadded, validity, value, ymd
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "aliyun_ocr"
ACTION, VERSION = "RecognizeIdcard", "2021-07-07"
BODY_LIMIT = 10 * 1024 * 1024  # "图片二进制文件不能超过10MB"
MIN_SIDE, MAX_SIDE = 15, 8192
HOST_ID = "ocr-api.cn-hangzhou.aliyuncs.com"

_PARAM = (400, "InvalidParameter", "The specified parameter is invalid.")
_FORMAT = (415, "unsupportedImageFormat", "The image format or content is not supported.")
_SIZE = (416, "illegalImageSize", "The image size must not be less than 15px or greater than 8192px.")
_URL = (400, "IllegalImageUrl", "The image URL is unavailable or has timed out.")
_MISSING = (400, "MissingImageUrl", "You must specify image URL or the image body.")
ERRORS: dict[Kind, tuple[int, str, str]] = {
    Kind.BAD_BODY: _PARAM,
    Kind.BAD_TYPE: _PARAM,
    Kind.INVALID_PARAM: _PARAM,
    Kind.MISSING_PARAM: _MISSING,
    Kind.EMPTY_IMAGE: _MISSING,
    Kind.BASE64_PADDING: _FORMAT,
    Kind.BASE64_CHARS: _FORMAT,
    Kind.DATA_URI_HEADER: _FORMAT,
    Kind.UNDECODABLE: _FORMAT,
    Kind.IMAGE_TOO_SMALL: _SIZE,
    Kind.IMAGE_TOO_LARGE: _SIZE,
    Kind.BODY_TOO_LARGE: (413, "exceededImageContent", "The image content size exceeds the 10 MB limit."),
    Kind.URL_REFUSED: _URL,
    Kind.URL_FETCH_FAILED: _URL,
    Kind.NO_CARD: (400, "unmatchedImageType", "The image type does not match the API operation."),
    Kind.AUTH_MISSING: (400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."),
    Kind.AUTH_REFUSED: (400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."),
    Kind.AUTH_EXPIRED: (400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."),
    Kind.AUTH_REPLAYED: (400, "SignatureNonceUsed", "Specified signature nonce was used already."),
    Kind.BUSY: (429, "Throttling.User", "Request was denied due to user flow control."),
    Kind.NOT_FOUND: (404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."),
    Kind.METHOD_NOT_ALLOWED: (404, "InvalidAction.NotFound", "Specified api is not found, please check your url "
                              "and method."),
    Kind.INTERNAL: (503, "algorithmError", "An algorithm error occurred."),
}
FRONT = (("name", "name"), ("sex", "sex"), ("ethnicity", "nation"), ("birthDate", "birth"), ("address", "address"),
         ("idNumber", "number"))
BACK = (("issueAuthority", "authority"), ("validPeriod", "valid_from"))


def error_body(err: ApiError, ctx: Ctx) -> tuple[int, dict[str, Any]]:
    status, code, message = ERRORS.get(err.kind, _PARAM)
    if err.kind is Kind.AUTH_REFUSED and err.detail == auth.UNKNOWN_KEY:
        status, code, message = 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
    body = {
        "RequestId": ctx.request_id,
        "HostId": HOST_ID,
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=ocr-api",
    }
    return status, body


def error_response(err: ApiError, ctx: Ctx) -> Response:
    status, body = error_body(err, ctx)
    return JSONResponse(body, status_code=status)


def birth_date(reading: Reading) -> str:
    parts = ymd(value(reading, "birth"))
    return f"{parts[0]}年{unpadded(parts[1])}月{unpadded(parts[2])}日" if parts else ""


def _points(quad: list[tuple[float, float]]) -> list[dict[str, int]]:
    return [{"x": round(x), "y": round(y)} for x, y in quad]


def _key_value(key: str, text: str, field: Field | None) -> dict[str, Any]:
    prob = round(field.confidence * 100) if field else 0
    item: dict[str, Any] = {"key": key, "keyProb": 100, "value": text}
    if field is not None:
        item["valuePos"] = _points(field.box)
    item["valueProb"] = prob
    return item


def figure(reading: Reading) -> list[dict[str, Any]]:
    """The portrait as Alibaba's ``figure`` list (type face, box as OpenCV's RotatedRect)."""
    portrait = reading.portrait
    if portrait is None:
        return []
    left, top, width, height = portrait.box
    (x0, y0), (x1, y1), _, (x3, y3) = portrait.quad
    box_w, box_h = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
    cx = sum(p[0] for p in portrait.quad) / 4
    cy = sum(p[1] for p in portrait.quad) / 4
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    box = {"x": round(cx), "y": round(cy), "w": round(box_w), "h": round(box_h), "angle": round(angle)}
    return [{"type": "face", "x": left, "y": top, "w": width, "h": height, "box": box,
             "points": _points(portrait.quad)}]


def warning(reading: Reading) -> dict[str, Any]:
    risk, quality = reading.risk, reading.quality
    whole = quality is None or not (quality.cut_off or quality.covered)
    out: dict[str, Any] = {
        "completenessScore": 100 if whole else 0,
        "isCopy": int(risk is not None and risk.kind == "photocopy"),
        "isReshoot": int(risk is not None and risk.kind == "screen"),
    }
    if quality is not None and quality.score is not None:
        out["qualityScore"] = quality.score
    if risk is not None:
        out["tamperScore"] = round(100 * risk.scores.get("Edited", 0.0), 4)
    return out


def side_data(reading: Reading, side: str, *, figures: bool, quality: bool) -> dict[str, Any]:
    card = next((c for c in reading.cards if c.side == side), None)
    width, height = reading.image_size
    if side == "front":
        texts = {key: birth_date(reading) if name == "birth" else value(reading, name) for key, name in FRONT}
    else:
        texts = {"issueAuthority": value(reading, "authority"), "validPeriod": validity(reading)}
    fields = dict(FRONT) if side == "front" else dict(BACK)
    out: dict[str, Any] = {
        "angle": card.rotation if card else reading.rotation,
        "data": texts,
        "ftype": int(reading.risk is not None and reading.risk.kind == "photocopy"),
        "height": height,
        "orgHeight": height,
        "orgWidth": width,
        "prism_keyValueInfo": [_key_value(key, text, reading.fields.get(fields[key])) for key, text in texts.items()],
    }
    if card is not None:
        corners = [(round(x), round(y)) for x, y in card.quad]
        out["sliceRect"] = {f"{axis}{i}": xy[j] for i, xy in enumerate(corners) for j, axis in enumerate("xy")}
    if quality:
        out["warning"] = warning(reading)
    if figures and side == "front":
        out["figure"] = figure(reading)
    out["width"] = width
    return out


def to_data(reading: Reading, *, figures: bool = False, quality: bool = False) -> dict[str, Any]:
    """Data (before it is made a JSON string); raises NO_CARD when no card side was read."""
    shown = sides(reading)
    if not shown:
        raise ApiError(Kind.NO_CARD)
    width, height = reading.image_size
    data = {name: side_data(reading, side, figures=figures, quality=quality)
            for side, name in (("front", "face"), ("back", "back")) if side in shown}
    return {"data": data, "height": height, "orgHeight": height, "orgWidth": width, "width": width}


def to_body(reading: Reading, ctx: Ctx, *, figures: bool = False, quality: bool = False) -> dict[str, Any]:
    data = to_data(reading, figures=figures, quality=quality)
    return {"RequestId": ctx.request_id, "Data": json.dumps(data, ensure_ascii=False)}


def example_answer(reading: Reading) -> dict[str, Any]:
    """The answer body for ``reading`` with default options (the error body where Alibaba would refuse it)."""
    return example(lambda ctx: to_body(reading, ctx), error_response)


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").strip().lower() == "true"


async def _work(request: Request, ctx: Ctx) -> Response:
    body = await auth.read_signed(request, VENDOR, body_limit(request, BODY_LIMIT), auth.check_acs3)
    if request.headers.get("x-acs-action") != ACTION or request.headers.get("x-acs-version", VERSION) != VERSION:
        raise ApiError(Kind.NOT_FOUND, "x-acs-action")
    params = dict(urllib.parse.parse_qsl(request.scope.get("query_string", b"").decode("latin-1"),
                                         keep_blank_values=True))
    url = params.get("Url", "").strip()
    if url and body:
        raise ApiError(Kind.INVALID_PARAM, "Url", "give the image as the body or as Url, not both")
    if url:
        image = await request.app.state.fetcher.fetch(url)
    elif body:
        image = body
    else:
        raise ApiError(Kind.MISSING_PARAM, "body")
    figures = _flag(params, "OutputFigure")
    reading = await recognize(request, image)
    check_pixels(reading, MIN_SIDE, MAX_SIDE)
    return JSONResponse(to_body(reading, ctx, figures=figures, quality=_flag(params, "OutputQualityInfo")))


async def handle(request: Request) -> Response:
    """POST / with x-acs-action (routed here by vendors.dispatch)."""
    return await answer(request, _work, error_response)
