"""Tencent Cloud OCR IDCardOCR (API 3.0, version 2018-11-19): POST / with ``X-TC-Action: IDCardOCR``.

Request: JSON ``ImageBase64`` | ``ImageUrl`` (the URL wins when both are given; base64 <= 10 MB), ``CardSide``
FRONT | BACK (absent: either, the front first), ``Config`` (a JSON string of booleans: CropIdCard, CropPortrait,
CopyWarn, BorderCheckWarn, ReshootWarn, DetectPsWarn, TempIdWarn, InvalidDateWarn, Quality, MultiCardDetect,
ReflectWarn, ValueCheck), ``EnableReflectDetail``; signed with TC3-HMAC-SHA256 (auth.check_tc3) when keys are
configured.
Answer: HTTP 200 ``{"Response": {Name, Sex, Nation, Birth, Address, IdNum, Authority, ValidDate, AdvancedInfo,
ReflectDetailInfos, RequestId}}``; ``AdvancedInfo`` is a JSON string holding what Config asked for: ``IdCard`` and
``Portrait`` (base64 JPEG crops), ``Quality`` (0-100) and ``WarnInfos`` (codes from our card checks: -9101 cut
off, -9102 copy, -9103 screen, -9104 temporary card, -9105 covered, -9106 edited, -9107 glare, -9109 validity
dates inconsistent) and ``IsValueValid`` (ValueCheck: every field read, no glare). ``MultiCardDetect`` fills both
sides' fields when both are on the image. Not answered, for want of a measure of our own: ``BorderCodeValue``,
``IsKeyValid`` (KeyCheck) and -9108 (black-and-white copies only: our copies are one class).
Errors: HTTP 200 too, ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` with Tencent's codes.
``EnableRecognitionRectify=false`` is accepted but changes nothing: the number is repaired only where checksum,
birth date and area code agree.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, body_limit, check_pixels, example, recognize
from idcard_ocr.server.inputs import decode_image_string, parse_json_object
from idcard_ocr.server.mapping import pick_side, sides, unpadded, validity, value, ymd
from idcard_ocr.server.problems import ApiError, Kind

VENDOR = "tencent"
ACTION, VERSION = "IDCardOCR", "2018-11-19"
BODY_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # ImageBase64 <= 10 MB, plus the rest of the JSON
MIN_SIDE, MAX_SIDE = 15, 8000

_DECODE = ("FailedOperation.ImageDecodeFailed", "Image decoding failed.")
_PARAM = ("InvalidParameterValue.InvalidParameterValueLimit", "A parameter value is invalid.")
_URL = ("FailedOperation.DownLoadError", "Failed to download the file.")
_SIGNATURE = ("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your "
              "signature is correct.")
ERRORS: dict[Kind, tuple[str, str]] = {
    Kind.BAD_BODY: ("InvalidParameter", "The request body is not a valid JSON object."),
    Kind.BAD_TYPE: _PARAM,
    Kind.MISSING_PARAM: ("InvalidParameterValue.InvalidParameterValueLimit", "Give ImageBase64 or ImageUrl."),
    Kind.INVALID_PARAM: _PARAM,
    Kind.EMPTY_IMAGE: ("FailedOperation.EmptyImageError", "The image is empty."),
    Kind.BASE64_PADDING: _DECODE,
    Kind.BASE64_CHARS: _DECODE,
    Kind.DATA_URI_HEADER: _DECODE,
    Kind.UNDECODABLE: _DECODE,
    Kind.IMAGE_TOO_SMALL: ("FailedOperation.IdCardTooSmall", "The image resolution is too small."),
    Kind.IMAGE_TOO_LARGE: ("FailedOperation.ImageSizeTooLarge", "The image is too large."),
    Kind.BODY_TOO_LARGE: ("LimitExceeded.TooLargeFileError", "The file is too large."),
    Kind.URL_REFUSED: _URL,
    Kind.URL_FETCH_FAILED: _URL,
    Kind.NO_CARD: ("FailedOperation.ImageNoIdCard", "No ID card was detected in the image."),
    Kind.WRONG_SIDE: ("FailedOperation.CardSideError", "The image does not show the CardSide asked for."),
    Kind.AUTH_MISSING: ("AuthFailure.InvalidAuthorization", "Authorization is missing or not a valid "
                        "TC3-HMAC-SHA256 signature."),
    Kind.AUTH_REFUSED: _SIGNATURE,
    Kind.AUTH_EXPIRED: ("AuthFailure.SignatureExpire", "Signature expired: X-TC-Timestamp is more than 15 minutes "
                        "from the server time."),
    Kind.AUTH_REPLAYED: ("AuthFailure.SignatureFailure", "This signed request was already received."),
    Kind.BUSY: ("RequestLimitExceeded", "Your request frequency has exceeded the limit."),
    Kind.NOT_FOUND: ("InvalidAction", "The action does not exist."),
    Kind.METHOD_NOT_ALLOWED: ("UnsupportedProtocol", "Only POST is supported."),
    Kind.INTERNAL: ("FailedOperation.UnKnowError", "Recognition failed."),
}
CONFIG_SWITCHES = (
    "CropIdCard", "CropPortrait", "CopyWarn", "BorderCheckWarn", "ReshootWarn", "DetectPsWarn", "TempIdWarn",
    "InvalidDateWarn", "Quality", "MultiCardDetect", "ReflectWarn", "KeyCheck", "ValueCheck",
)
SIDES = {"FRONT": "front", "BACK": "back"}
FRONT = (("Name", "name"), ("Sex", "sex"), ("Nation", "nation"), ("Address", "address"), ("IdNum", "number"))


def error_body(err: ApiError, ctx: Ctx) -> dict[str, Any]:
    code, message = ERRORS.get(err.kind, _PARAM)
    if err.kind is Kind.AUTH_REFUSED and err.detail == auth.UNKNOWN_KEY:
        code, message = "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure it is correct."
    elif err.kind is Kind.NOT_FOUND and err.param == "X-TC-Version":
        code, message = "NoSuchVersion", f"The API version does not exist; IDCardOCR is version {VERSION}."
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": ctx.request_id}}


def error_response(err: ApiError, ctx: Ctx) -> Response:
    return JSONResponse(error_body(err, ctx))  # Tencent answers errors with HTTP 200 too


def birth(reading: Reading) -> str:
    """The birth date as Tencent writes it: "1990/1/9" (no leading zeros)."""
    parts = ymd(value(reading, "birth"))
    return f"{parts[0]}/{unpadded(parts[1])}/{unpadded(parts[2])}" if parts else ""


def parse_config(raw: Any) -> dict[str, bool]:
    """Config as Tencent takes it: a JSON string (SDK) or an object (API Explorer) of booleans."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ApiError(Kind.INVALID_PARAM, "Config") from exc
    if not isinstance(raw, dict):
        raise ApiError(Kind.INVALID_PARAM, "Config")
    return {name: raw.get(name) is True for name in CONFIG_SWITCHES}


def warn_infos(reading: Reading, config: dict[str, bool]) -> list[int]:
    """The warning codes Config switched on and our card checks raise, in Tencent's numbering."""
    quality, risk, warnings = reading.quality, reading.risk, reading.warnings
    kind = risk.kind if risk is not None else None
    found = (
        ("InvalidDateWarn", -9109, (warnings is not None and warnings.validity_term_mismatch is True)
         or reading.checks.validity_term_ok is False),
        ("BorderCheckWarn", -9101, quality is not None and quality.cut_off is True),
        ("CopyWarn", -9102, kind == "photocopy"),
        ("ReshootWarn", -9103, kind == "screen"),
        ("TempIdWarn", -9104, kind == "temporary" or reading.card_type == "temporary"),
        ("BorderCheckWarn", -9105, quality is not None and quality.covered is True),
        ("DetectPsWarn", -9106, kind == "edited" or (risk is not None and bool(risk.edit_tool))),
        ("ReflectWarn", -9107, quality is not None and quality.glare is True),
    )
    return [code for switch, code, raised in found if config.get(switch) and raised]


def advanced_info(reading: Reading, config: dict[str, bool]) -> dict[str, Any]:
    """AdvancedInfo's content: only what Config asked for, and only what was measured (never made up)."""
    info: dict[str, Any] = {}
    if config.get("CropIdCard") and reading.card_image:
        info["IdCard"] = reading.card_image
    if config.get("CropPortrait") and reading.portrait_image:
        info["Portrait"] = reading.portrait_image
    if config.get("Quality") and reading.quality is not None and reading.quality.score is not None:
        info["Quality"] = reading.quality.score
    if config.get("ValueCheck") and reading.warnings is not None and reading.quality is not None:
        incomplete, glare = reading.warnings.incomplete, reading.quality.glare
        if incomplete is not None and glare is not None:  # "every value complete and without reflection"
            info["IsValueValid"] = not incomplete and not glare
    if any(config.get(s) for s in ("InvalidDateWarn", "BorderCheckWarn", "CopyWarn", "ReshootWarn", "TempIdWarn",
                                    "DetectPsWarn", "ReflectWarn")):
        info["WarnInfos"] = warn_infos(reading, config)
    return info


def to_response(reading: Reading, wanted: str | None, config: dict[str, bool], ctx: Ctx,
                *, reflect_detail: bool = False) -> dict[str, Any]:
    """``Response`` for a Reading; raises NO_CARD / WRONG_SIDE as Tencent's FailedOperation errors."""
    side = pick_side(reading, wanted)
    if side is None:
        raise ApiError(Kind.WRONG_SIDE if sides(reading) else Kind.NO_CARD)
    both = config.get("MultiCardDetect") and wanted is None and sides(reading) == {"front", "back"}
    front, back = side == "front" or both, side == "back" or both
    out: dict[str, Any] = {name: value(reading, field) if front else "" for name, field in FRONT[:3]}
    out["Birth"] = birth(reading) if front else ""
    out.update({name: value(reading, field) if front else "" for name, field in FRONT[3:]})
    out["Authority"] = value(reading, "authority") if back else ""
    out["ValidDate"] = validity(reading) if back else ""
    out["AdvancedInfo"] = json.dumps(advanced_info(reading, config), ensure_ascii=False)
    glare = reading.quality is not None and reading.quality.glare is True
    # a glare flag means a highlight washes out part of a field: the position Tencent calls RecognitionField
    detail = reflect_detail and config.get("ReflectWarn") and glare
    out["ReflectDetailInfos"] = [{"Position": "RecognitionField"}] if detail else []
    out["RequestId"] = ctx.request_id
    return {"Response": out}


def example_answer(reading: Reading) -> dict[str, Any]:
    """The answer body for ``reading`` with default options (an error body where Tencent would refuse it)."""
    return example(lambda ctx: to_response(reading, None, {}, ctx), error_response)


async def _work(request: Request, ctx: Ctx) -> Response:
    body = await auth.read_signed(request, VENDOR, body_limit(request, BODY_LIMIT), auth.check_tc3)
    if request.headers.get("x-tc-action") != ACTION:
        raise ApiError(Kind.NOT_FOUND, "X-TC-Action")
    if request.headers.get("x-tc-version", VERSION) != VERSION:
        raise ApiError(Kind.NOT_FOUND, "X-TC-Version")
    params = parse_json_object(body)
    side_param = params.get("CardSide")
    if side_param not in (None, "") and side_param not in SIDES:
        raise ApiError(Kind.INVALID_PARAM, "CardSide")
    wanted = SIDES.get(side_param) if isinstance(side_param, str) else None
    config = parse_config(params.get("Config"))
    url, image = params.get("ImageUrl"), params.get("ImageBase64")
    if url:
        if not isinstance(url, str):
            raise ApiError(Kind.BAD_TYPE, "ImageUrl")
        data = await request.app.state.fetcher.fetch(url)
    elif image:
        if not isinstance(image, str):
            raise ApiError(Kind.BAD_TYPE, "ImageBase64")
        data = decode_image_string(image)
    else:
        raise ApiError(Kind.MISSING_PARAM, "ImageBase64")
    crops = bool(config.get("CropIdCard") or config.get("CropPortrait"))
    reading = await recognize(request, data, wanted or "auto", images=crops)
    check_pixels(reading, MIN_SIDE, MAX_SIDE)
    reflect = params.get("EnableReflectDetail") is True
    return JSONResponse(to_response(reading, wanted, config, ctx, reflect_detail=reflect))


async def handle(request: Request) -> Response:
    """POST / with X-TC-Action (routed here by vendors.dispatch)."""
    return await answer(request, _work, error_response)
