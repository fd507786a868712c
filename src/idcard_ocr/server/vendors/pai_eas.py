"""Seed 004, PAI-EAS idcard_ocr: POST /api/predict/{service} (the service name may hold slashes).

Request: form fields ``info`` (free text) and ``data`` (base64 image, request under 8 MB); header
``Authorization: <token>``. eas-prediction's PredictClient sends the same form as ``application/octet-stream``
(its default content type; a StringRequest carries whatever string it is given) and signs it with the token:
``Authorization: EAS <signature>``, ``Content-MD5``, ``Date`` (verified in auth.verify_eas). So the form is read
whatever the content type says; a JSON object with the same fields and a bare image file are read too.
Answer: the body is base64 of the JSON ``{"code": "200", "message": "success", "data": "<JSON string>"}``; the
vendor's own client json-loads ``data``, so it is a string on errors too ("{}"). Codes 201 (no card)
and 202-209 (a field not read) answer HTTP 200 like success; -1 is any other problem.
``idcard_image`` is the straightened card as base64 JPEG (null only if no crop could be made; the vendor's
client handles null: "idcard_image data is None").
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, recognize, request_body
from idcard_ocr.server.inputs import Params, decode_image_string, is_json, params_of
from idcard_ocr.server.mapping import dotted, pick_side, validity, value
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "pai_eas"
BODY_LIMIT = 8 * 1024 * 1024 + 64 * 1024  # "使用base64请求数据小于8M", plus the form's other bytes
router = APIRouter(tags=["PAI-EAS /api/predict/{service}"])
_BODY = request_body(
    {"info": {"type": "string"}, "data": {"type": "string", "description": "base64 image"}},
    ["data"],
    "application/x-www-form-urlencoded",
)

# the first field not read, in the seed's code order, decides the code
FRONT_CODES = (
    ("name", "204", "name not detected or rec"),
    ("nation", "205", "nation not detected or rec"),
    ("address", "206", "address not detected or rec"),
    ("number", "207", "idno not detected or rec"),
    ("birth", "208", "birth not rec"),
    ("sex", "209", "gender not rec"),
)
BACK_CODES = (
    ("authority", "202", "police not detected or rec"),
    ("valid_from", "203", "expiry not detected or rec"),
    ("valid_to", "203", "expiry not detected or rec"),
)
_BAD_IMAGE = (400, "-1", "image decode failed")
ERRORS: dict[Kind, tuple[int, str, str]] = {
    Kind.BAD_BODY: (400, "-1", "malformed request body"),
    Kind.BAD_TYPE: (400, "-1", "data must be a base64 string"),
    Kind.INVALID_PARAM: (400, "-1", "invalid parameter"),
    Kind.EMPTY_IMAGE: (400, "-1", "data is empty"),
    Kind.BASE64_PADDING: (400, "-1", "data is not valid base64: incorrect padding"),
    Kind.BASE64_CHARS: (400, "-1", "data is not valid base64"),
    Kind.DATA_URI_HEADER: _BAD_IMAGE,
    Kind.UNDECODABLE: _BAD_IMAGE,
    Kind.IMAGE_TOO_SMALL: (400, "-1", "image too small"),
    Kind.IMAGE_TOO_LARGE: (400, "-1", "image too large"),
    Kind.BODY_TOO_LARGE: (413, "-1", "request data must be under 8M"),
    Kind.BUSY: (429, "-1", "server busy, retry later"),
    Kind.INTERNAL: (500, "-1", "internal error"),
}


def envelope(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, str]:
    """The JSON envelope; its ``data`` is itself a JSON string."""
    return {"code": code, "message": message, "data": json.dumps(data or {}, ensure_ascii=False)}


def encode(code: str, message: str, data: dict[str, Any] | None = None) -> str:
    """The wire form: base64 of the envelope."""
    return base64.b64encode(json.dumps(envelope(code, message, data), ensure_ascii=False).encode("utf-8")).decode(
        "ascii"
    )


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /api/predict/{service} answers for ``reading``, as its client sees it once the base64 body is
    decoded (the envelope; ``data`` a JSON string). A reading without a card is code 201, not an error."""
    return envelope(*to_envelope(reading))


def to_envelope(reading: Reading) -> tuple[str, str, dict[str, Any]]:
    """(code, message, data) for a Reading: 201 with no card, 202-209 for the first field not read."""
    side = pick_side(reading, None)
    if side is None:
        return "201", "id card not detected", {}
    for name, code, message in FRONT_CODES if side == "front" else BACK_CODES:
        if not value(reading, name):
            return code, message, {}
    if side == "front":
        data = {
            "type": "front",
            "id_no": value(reading, "number"),
            "address": value(reading, "address"),
            "gender": value(reading, "sex"),
            "race": value(reading, "nation"),
            "name": value(reading, "name"),
            "birth": dotted(value(reading, "birth")),
            "idcard_image": reading.card_image,
        }
    else:
        data = {
            "type": "back",
            "issued_by": value(reading, "authority"),
            "valid_date": validity(reading),
            "idcard_image": reading.card_image,
        }
    return "200", "success", data


# EAS documents any failed authentication as HTTP 401 "Authorization Failed"; PredictClient raises
# PredictException(401, <body>). The body says which check failed, never what was sent.
AUTH_ERRORS: dict[Kind, str] = {
    Kind.AUTH_MISSING: "Authorization failed",
    Kind.AUTH_REFUSED: "Authorization failed",
    Kind.AUTH_EXPIRED: "Authorization failed: request date out of range",
    Kind.AUTH_REPLAYED: "Authorization failed: request already used",
}
# a bare image file as the whole body (a StringRequest of the file's bytes)
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")


def error_response(err: ApiError, ctx: Ctx) -> Response:
    if err.kind in AUTH_ERRORS:
        return PlainTextResponse(AUTH_ERRORS[err.kind], status_code=401)
    if err.kind is Kind.MISSING_PARAM:
        status, code, message = 400, "-1", f"missing parameter: {err.param}"
    else:
        status, code, message = ERRORS.get(err.kind, ERRORS[Kind.INVALID_PARAM])
    return PlainTextResponse(encode(code, message), status_code=status)


def _is_image(body: bytes) -> bool:
    return body.startswith(_IMAGE_MAGIC) or (body[:4] == b"RIFF" and body[8:12] == b"WEBP")


async def _params(request: Request, body: bytes) -> Params:
    """The form (or JSON object) in ``body``; a urlencoded form whatever the content type claims."""
    content_type = request.headers.get("content-type", "").lower()
    if is_json(request, body) or content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        return await params_of(request, body)
    values: dict[str, Any] = {}
    for key, text in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        values.setdefault(key, text)
    return Params(values, {})


async def _image(request: Request, body: bytes) -> bytes:
    if _is_image(body):
        return body
    params = await _params(request, body)
    raw: Any = params.files.get("data") or params.values.get("data")
    if raw is None:
        raise ApiError(Kind.MISSING_PARAM, "data")
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", errors="replace")
    if not isinstance(raw, str):
        raise ApiError(Kind.BAD_TYPE, "data")
    return decode_image_string(raw)


async def _work(request: Request, ctx: Ctx) -> Response:
    body = await auth.read_pai_eas(request, body_limit(request, BODY_LIMIT))
    reading = await recognize(request, await _image(request, body), images=True)
    return PlainTextResponse(encode(*to_envelope(reading)))


@router.post("/api/predict/{service:path}", openapi_extra=_BODY, summary="idcard_ocr (PAI-EAS compatible)")
async def predict(request: Request, service: str) -> Response:
    return await answer(request, _work, error_response)
