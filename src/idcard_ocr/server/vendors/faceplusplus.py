"""Seed 001, Face++ 身份证 OCR: POST /faceid/v1/ocridcard.

Request: multipart ``api_key``, ``api_secret``, ``image`` (file), optional ``legality`` "0"/"1".
Answer: ``request_id``, ``time_used`` (ms), ``side`` and the side's fields, as the seed documents;
``head_rect`` (the photo's corners rt, lt, lb, rb, normalized to the image) on a front whose photo was
placed, and ``legality`` (the five class probabilities, summing to 1) when asked with legality="1" and a
card was found to judge. Neither is given (never faked) when the checks could not be made.
Errors: ``{"error_message": ..., "request_id": ..., "time_used": ...}`` with the seed's HTTP codes; 413
is plain text.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from idcard_ocr.checks.risk import legality as legality_of
from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, ctx_of, example, recognize, request_body
from idcard_ocr.server.inputs import read_params
from idcard_ocr.server.mapping import pick_side, unpadded, validity, value, ymd
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "faceplusplus"
BODY_LIMIT = 2 * 1024 * 1024  # "请求大小超过了2MB 限制"
router = APIRouter(tags=["Face++ /faceid/v1/ocridcard"])
_BODY = request_body(
    {
        "api_key": {"type": "string"},
        "api_secret": {"type": "string"},
        "image": {"type": "string", "format": "binary"},
        "legality": {"type": "string", "enum": ["0", "1"]},
    },
    ["api_key", "api_secret", "image"],
    "multipart/form-data",
)

_FORMAT = (400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")
ERRORS: dict[Kind, tuple[int, str]] = {
    Kind.BAD_BODY: (400, "MISSING_ARGUMENTS: image"),
    Kind.EMPTY_IMAGE: _FORMAT,
    Kind.UNDECODABLE: _FORMAT,
    Kind.IMAGE_TOO_SMALL: _FORMAT,
    Kind.IMAGE_TOO_LARGE: _FORMAT,
    Kind.AUTH_MISSING: (403, "AUTHORIZATION_ERROR"),
    Kind.AUTH_REFUSED: (403, "AUTHORIZATION_ERROR"),
    Kind.BUSY: (403, "CONCURRENCY_LIMIT_EXCEEDED"),
    Kind.INTERNAL: (500, "INTERNAL_ERROR"),
}


def request_id(ctx: Ctx) -> str:
    """Face++'s form: "<unix seconds>,<id>"; the id is the one in X-Request-Id."""
    return f"{int(time.time())},{ctx.request_id}"


# head_rect corners in the seed's order (右上, 左上, 左下, 右下 as its example lists them)
HEAD_CORNERS = ("rt", "lt", "lb", "rb")


def head_rect(reading: Reading) -> dict[str, dict[str, float]] | None:
    """The seed's head_rect from the portrait's normalized corners; None when no photo was placed."""
    portrait = reading.portrait
    if portrait is None or any(k not in portrait.head_rect for k in HEAD_CORNERS):
        return None
    return {k: {"y": portrait.head_rect[k].y, "x": portrait.head_rect[k].x} for k in HEAD_CORNERS}


def to_body(reading: Reading, ctx: Ctx, *, legality: bool = False) -> dict[str, Any]:
    """The answer for a Reading. With no card, ``side`` is null (the seed: undeterminable fields are null).

    ``legality``: add the five probabilities (when a card was found; never faked without one)."""
    side = pick_side(reading, None)
    body: dict[str, Any] = {"request_id": request_id(ctx), "side": side}
    if side == "front":
        birth = ymd(value(reading, "birth"))
        body.update(
            name=value(reading, "name"),
            gender=value(reading, "sex"),
            race=value(reading, "nation"),
            address=value(reading, "address"),
            id_card_number=value(reading, "number"),
            birthday=(
                {"year": birth[0], "month": unpadded(birth[1]), "day": unpadded(birth[2])}
                if birth
                else {"year": "", "month": "", "day": ""}
            ),
        )
        rect = head_rect(reading)
        if rect is not None:
            body["head_rect"] = rect
    elif side == "back":
        body.update(issued_by=value(reading, "authority"), valid_date=validity(reading))
    if legality and reading.risk is not None:
        body["legality"] = legality_of(reading.risk)
    body["time_used"] = ctx.elapsed_ms()
    return body


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /faceid/v1/ocridcard answers for ``reading`` (legality not asked for)."""
    return example(lambda ctx: to_body(reading, ctx), error_response)


def error_response(err: ApiError, ctx: Ctx) -> Response:
    if err.kind is Kind.BODY_TOO_LARGE:
        return PlainTextResponse("Request Entity Too Large", status_code=413)
    if err.kind is Kind.MISSING_PARAM:
        status, message = 400, f"MISSING_ARGUMENTS: {err.param}"
    else:
        status, message = ERRORS.get(err.kind, (400, "MISSING_ARGUMENTS: image"))
    body = {"error_message": message, "request_id": request_id(ctx), "time_used": ctx.elapsed_ms()}
    return JSONResponse(body, status_code=status)


async def _work(request: Request, ctx: Ctx) -> Response:
    params = await read_params(request, body_limit(request, BODY_LIMIT))
    credentials = []
    for key in ("api_key", "api_secret"):
        given = params.values.get(key)
        if not isinstance(given, str) or not given:
            raise ApiError(Kind.MISSING_PARAM, key)
        credentials.append(given)
    auth.check(request, VENDOR, ":".join(credentials))
    if "image" not in params.files:
        raise ApiError(Kind.MISSING_PARAM, "image")
    if not params.files["image"]:
        raise ApiError(Kind.EMPTY_IMAGE)
    reading = await recognize(request, params.files["image"])
    return JSONResponse(to_body(reading, ctx, legality=params.values.get("legality") == "1"))


@router.post("/faceid/v1/ocridcard", openapi_extra=_BODY, summary="身份证 OCR (Face++ compatible)")
async def ocridcard(request: Request) -> Response:
    return await answer(request, _work, error_response)


@router.api_route(
    "/faceid/{rest:path}",
    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
)
async def api_not_found(request: Request) -> Response:
    ctx = ctx_of(request)
    body = {"error_message": "API_NOT_FOUND", "request_id": request_id(ctx), "time_used": ctx.elapsed_ms()}
    return JSONResponse(body, status_code=404)
