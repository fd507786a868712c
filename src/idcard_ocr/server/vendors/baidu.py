"""Baidu AI Cloud OCR 身份证识别: POST /rest/2.0/ocr/v1/idcard, and its OAuth token endpoint /oauth/2.0/token.

Token: ``GET|POST /oauth/2.0/token?grant_type=client_credentials&client_id=<API Key>&client_secret=<Secret Key>``
answers ``{"access_token", "expires_in", "scope"}``; the token is self-contained (auth.issue_baidu_token), so any
worker process checks it. Its scope includes ``brain_all_scope``, which tells baidu-aip to send
``?access_token=``; a client whose token request fails (unknown keys) signs with ``bce-auth-v1`` instead
(auth.check_bce), and both are accepted.
Request (form-urlencoded): ``image`` (base64, <= 10 MB, 15-8192 px) or ``url``, ``id_card_side`` front | back,
``detect_direction``, ``detect_risk``, ``detect_photo`` ("true"/"false").
Answer: the ``words_result`` shape of seed 003 (which mirrors this API; its mapping is reused, without seed 003's
own ``msg``): ``log_id``, ``words_result`` {住址, 公民身份号码, 出生, 姓名, 性别, 民族 | 签发机关, 签发日期,
失效日期}, ``words_result_num``, ``image_status``, ``idcard_number_type``, and as asked ``direction``,
``risk_type``/``edit_tool``, ``photo``/``photo_location``. A picture without a card is answered as Baidu does:
``image_status`` non_idcard and no words.
Errors: HTTP 200 with ``{"log_id", "error_code", "error_msg"}`` and Baidu's codes (110/111 token invalid/expired,
14 signature refused, 216100 invalid param, 216101 not enough param, 216200 empty image, 216201 image format
error, 216202 image size error, 282111-282114 URL problems, 18 QPS limit, 282000 internal error).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, check_pixels, recognize, request_body
from idcard_ocr.server.inputs import Params, image_from_string, params_of, read_body, read_params
from idcard_ocr.server.mapping import pick_side, sides
from idcard_ocr.server.problems import ApiError, Kind
from idcard_ocr.server.vendors.aliyun_do import flag, log_id
from idcard_ocr.server.vendors.aliyun_do import to_body as words_body

VENDOR = "baidu"
BODY_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # image <= 10 MB after base64 + urlencode, plus the other fields
MIN_SIDE, MAX_SIDE = 15, 8192
SCOPE = "public brain_all_scope vis-ocr_ocr brain_ocr_idcard"  # brain_all_scope: baidu-aip sends access_token
router = APIRouter(tags=["Baidu OCR /rest/2.0/ocr/v1/idcard"])
_FLAG = {"type": "string", "enum": ["true", "false"]}
_BODY = request_body(
    {
        "image": {"type": "string", "description": "base64"},
        "url": {"type": "string"},
        "id_card_side": {"type": "string", "enum": ["front", "back"]},
        "detect_direction": _FLAG,
        "detect_risk": _FLAG,
        "detect_photo": _FLAG,
    },
    ["id_card_side"],
    "application/x-www-form-urlencoded",
)

_PARAM = (216100, "invalid param")
_FORMAT = (216201, "image format error")
_SIZE = (216202, "image size error")
_TOKEN = (110, "Access token invalid or no longer valid")
_SIGNATURE = (14, "IAM Certification failed")
ERRORS: dict[Kind, tuple[int, str]] = {
    Kind.BAD_BODY: _PARAM,
    Kind.BAD_TYPE: _PARAM,
    Kind.INVALID_PARAM: _PARAM,
    Kind.MISSING_PARAM: (216101, "not enough param"),
    Kind.EMPTY_IMAGE: (216200, "empty image"),
    Kind.BASE64_PADDING: _FORMAT,
    Kind.BASE64_CHARS: _FORMAT,
    Kind.DATA_URI_HEADER: _FORMAT,
    Kind.UNDECODABLE: _FORMAT,
    Kind.IMAGE_TOO_SMALL: _SIZE,
    Kind.IMAGE_TOO_LARGE: _SIZE,
    Kind.BODY_TOO_LARGE: _SIZE,
    Kind.URL_REFUSED: (282111, "url format illegal"),
    Kind.URL_FETCH_FAILED: (282113, "url response invalid"),
    Kind.AUTH_MISSING: _TOKEN,
    Kind.AUTH_REFUSED: _TOKEN,
    Kind.AUTH_EXPIRED: (111, "Access token expired"),
    Kind.AUTH_REPLAYED: _SIGNATURE,
    Kind.BUSY: (18, "Open api qps request limit reached"),
    Kind.NOT_FOUND: (3, "Unsupported openapi method"),
    Kind.METHOD_NOT_ALLOWED: (3, "Unsupported openapi method"),
    Kind.INTERNAL: (282000, "internal error"),
}


def error_body(err: ApiError, ctx: Ctx) -> dict[str, Any]:
    code, message = ERRORS.get(err.kind, _PARAM)
    if err.param == "authorization":  # a bce-auth-v1 signature, not a token
        code, message = _SIGNATURE
    return {"log_id": log_id(ctx), "error_code": code, "error_msg": message}


def error_response(err: ApiError, ctx: Ctx) -> Response:
    return JSONResponse(error_body(err, ctx))  # Baidu answers errors with HTTP 200


def to_body(reading: Reading, side: str, ctx: Ctx, *, direction: bool = False, risk: bool = False,
            photo: bool = False) -> dict[str, Any]:
    """The answer for a Reading read as ``side``: seed 003's words_result mapping without its ``msg``."""
    if not sides(reading):  # Baidu answers a picture without a card, it does not refuse it
        body: dict[str, Any] = {"log_id": log_id(ctx)}
        if direction:
            body["direction"] = -1
        body.update(words_result={}, words_result_num=0, image_status="non_idcard")
        if risk:
            body["risk_type"] = "unknown"
        if side == "front":
            body["idcard_number_type"] = -1
        return body
    body = words_body(reading, side, ctx, direction=direction, risk=risk, photo=photo)
    del body["msg"]
    return body


def example_answer(reading: Reading) -> dict[str, Any]:
    """The answer body for ``reading`` read as the side it shows (front first), default options."""
    ctx = Ctx("00000000-0000-0000-0000-000000000000", time.perf_counter())
    return to_body(reading, pick_side(reading, None) or "front", ctx)


async def _check_caller(request: Request, body: bytes, params: Params) -> None:
    known = auth.signing_pairs(request, VENDOR)
    if known is None:
        return
    if request.headers.get("authorization", "").strip().startswith(auth.BCE + "/"):
        try:
            auth.check_signed(request, VENDOR, body, auth.check_bce)
        except ApiError as exc:
            raise ApiError(exc.kind, "authorization", exc.detail) from exc
        return
    token = request.query_params.get("access_token") or params.values.get("access_token")
    auth.check_baidu_token(known, token if isinstance(token, str) else None)


async def _work(request: Request, ctx: Ctx) -> Response:
    body = await read_body(request, body_limit(request, BODY_LIMIT))
    params = await params_of(request, body)
    await _check_caller(request, body, params)
    values = params.values
    side = values.get("id_card_side")
    if side in (None, ""):
        raise ApiError(Kind.MISSING_PARAM, "id_card_side")
    if side not in ("front", "back"):
        raise ApiError(Kind.INVALID_PARAM, "id_card_side")
    image, url = values.get("image"), values.get("url")
    if image in (None, "") and url in (None, ""):
        raise ApiError(Kind.MISSING_PARAM, "image")
    if image not in (None, ""):
        data = await image_from_string(request, image, urls=False, data_uri=False)
    else:
        if not isinstance(url, str):
            raise ApiError(Kind.BAD_TYPE, "url")
        data = await request.app.state.fetcher.fetch(url.strip())
    photo = flag(values, "detect_photo")
    reading = await recognize(request, data, side, images=photo)
    check_pixels(reading, MIN_SIDE, MAX_SIDE)
    answer_body = to_body(reading, side, ctx, direction=flag(values, "detect_direction"),
                          risk=flag(values, "detect_risk"), photo=photo)
    return JSONResponse(answer_body)


@router.post("/rest/2.0/ocr/v1/idcard", openapi_extra=_BODY, summary="身份证识别 (Baidu OCR compatible)")
async def idcard(request: Request) -> Response:
    return await answer(request, _work, error_response)


# The token endpoint's own OAuth 2.0 errors (not the idcard route's error_code/error_msg).
OAUTH_BAD_BODY = (400, "invalid_request", "malformed request body")
OAUTH_GRANT = (400, "unsupported_grant_type", "The authorization grant type is not supported")
OAUTH_MISSING = (400, "invalid_request", "client_id and client_secret are required")
OAUTH_UNKNOWN = (401, "invalid_client", "unknown client id")
OAUTH_REFUSED = (401, "invalid_client", "Client authentication failed")
OAUTH_ERRORS = (OAUTH_BAD_BODY, OAUTH_GRANT, OAUTH_MISSING, OAUTH_UNKNOWN, OAUTH_REFUSED)


def oauth_error(error: tuple[int, str, str]) -> Response:
    status, code, description = error
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


@router.get("/oauth/2.0/token", summary="OAuth access_token (Baidu AI compatible)")
async def token_get(request: Request) -> Response:
    return await token(request)


@router.post("/oauth/2.0/token", summary="OAuth access_token, form body (Baidu AI compatible)")
async def token(request: Request) -> Response:
    values: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        try:
            form = await read_params(request, 64 * 1024)
        except ApiError:
            return oauth_error(OAUTH_BAD_BODY)
        except ClientDisconnect:  # hung up, or the body deadline passed (limits.py): no error of ours
            response = oauth_error(OAUTH_BAD_BODY)
            response.headers["Connection"] = "close"
            return response
        values = {**form.values, **values}
    if values.get("grant_type") != "client_credentials":
        return oauth_error(OAUTH_GRANT)
    client_id, client_secret = values.get("client_id"), values.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str) or not client_id or not client_secret:
        return oauth_error(OAUTH_MISSING)
    known = auth.signing_pairs(request, VENDOR)
    if known is None:  # auth off: any caller gets a token (nothing will check it)
        secret = client_secret.encode()
    else:
        found = auth.secret_of(known, client_id)
        if found is None:
            return oauth_error(OAUTH_UNKNOWN)
        if not auth.same(found, client_secret.encode()):
            return oauth_error(OAUTH_REFUSED)
        secret = found
    body = {
        "access_token": auth.issue_baidu_token(client_id, secret),
        "expires_in": auth.BAIDU_TOKEN_LIFETIME,
        "scope": SCOPE,
    }
    return JSONResponse(body)
