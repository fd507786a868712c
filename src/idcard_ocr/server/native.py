"""Our own API: POST /v1/idcard answers the Reading; GET /healthz, /readyz, /metrics."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic import Field as PField

from idcard_ocr.model import Reading
from idcard_ocr.server import auth
from idcard_ocr.server.common import Ctx, answer, recognize, settings_of
from idcard_ocr.server.inputs import image_from_string, read_params
from idcard_ocr.server.metrics import Metrics
from idcard_ocr.server.problems import ApiError, Kind
from idcard_ocr.server.runner import Runner

VENDOR = "native"
router = APIRouter()


class ImageRequest(BaseModel):
    """What every route of ours takes: ``image`` or ``url`` (not both), and the side wanted."""

    image: str | None = PField(None, description="base64, data URI or http(s) URL of the image")
    url: str | None = PField(None, description="http(s) URL of the image")
    side: Literal["auto", "front", "back"] = "auto"


class IdCardRequest(ImageRequest):
    """JSON body of POST /v1/idcard. Give ``image`` or ``url``, not both."""

    return_portrait: bool = PField(False, description="Also return the portrait crop (portrait_image, base64 JPEG)")
    return_card: bool = PField(False, description="Also return the straightened card (card_image, base64 JPEG)")


class ErrorBody(BaseModel):
    code: str
    message: str
    param: str | None = None


class ErrorAnswer(BaseModel):
    error: ErrorBody
    request_id: str


STATUS: dict[Kind, int] = {
    Kind.UNDECODABLE: 415,
    Kind.IMAGE_TOO_SMALL: 422,
    Kind.IMAGE_TOO_LARGE: 413,
    Kind.BODY_TOO_LARGE: 413,
    Kind.URL_FETCH_FAILED: 422,
    Kind.AUTH_MISSING: 401,
    Kind.AUTH_REFUSED: 401,
    Kind.AUTH_EXPIRED: 401,
    Kind.AUTH_REPLAYED: 401,
    Kind.BUSY: 429,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
    Kind.INTERNAL: 500,
}
MESSAGE: dict[Kind, str] = {
    Kind.BAD_BODY: "the body is not a JSON object or a form",
    Kind.BAD_TYPE: "a parameter has the wrong type",
    Kind.MISSING_PARAM: "a required parameter is missing",
    Kind.INVALID_PARAM: "a parameter has an invalid value",
    Kind.EMPTY_IMAGE: "the image is empty",
    Kind.BASE64_PADDING: "the base64 image has incorrect padding",
    Kind.BASE64_CHARS: "the base64 image has characters outside the base64 alphabet",
    Kind.DATA_URI_HEADER: "the image has a data URI header where plain base64 is expected",
    Kind.UNDECODABLE: "the image could not be decoded; send JPEG, PNG, BMP, TIFF, WebP or HEIC",
    Kind.IMAGE_TOO_SMALL: "the image is too small to read",
    Kind.IMAGE_TOO_LARGE: "the image has too many pixels",
    Kind.BODY_TOO_LARGE: "the request body is too large",
    Kind.URL_REFUSED: "the URL is not allowed (http/https to a public address only)",
    Kind.URL_FETCH_FAILED: "the image could not be fetched from the URL",
    Kind.AUTH_MISSING: "an API key is required (Authorization: Bearer <key> or X-API-Key)",
    Kind.AUTH_REFUSED: "the API key is not accepted",
    Kind.AUTH_EXPIRED: "the request's signed date is outside the accepted window",
    Kind.AUTH_REPLAYED: "this signed request was already accepted once",
    Kind.BUSY: "the server is busy; retry after the time in Retry-After",
    Kind.NO_CARD: "no ID card found",
    Kind.WRONG_SIDE: "the side asked for is not on the image",
    Kind.NOT_FOUND: "no such route",
    Kind.METHOD_NOT_ALLOWED: "method not allowed on this route",
    Kind.INTERNAL: "internal error",
}


def error_response(err: ApiError, ctx: Ctx) -> Response:
    body = ErrorAnswer(
        error=ErrorBody(code=err.kind.value, message=MESSAGE[err.kind], param=err.param),
        request_id=ctx.request_id,
    )
    return JSONResponse(body.model_dump(), status_code=STATUS.get(err.kind, 400))


Options = TypeVar("Options", bound=ImageRequest)


async def parse(request: Request, model: type[Options]) -> tuple[bytes, Options]:
    """The image and the options of a JSON or multipart request to one of our routes."""
    params = await read_params(request, settings_of(request).max_body_bytes)
    if "image" in params.files:
        try:
            options = model.model_validate({k: v for k, v in params.values.items() if k != "image"})
        except ValidationError as exc:
            raise ApiError(Kind.INVALID_PARAM, _first_loc(exc)) from exc
        if not params.files["image"]:
            raise ApiError(Kind.EMPTY_IMAGE)
        return params.files["image"], options
    try:
        options = model.model_validate(params.values)
    except ValidationError as exc:
        raise ApiError(Kind.INVALID_PARAM, _first_loc(exc)) from exc
    if options.image and options.url:
        raise ApiError(Kind.INVALID_PARAM, "url", "give image or url, not both")
    if options.url:
        image = await request.app.state.fetcher.fetch(options.url)
    elif options.image is not None:
        image = await image_from_string(request, options.image)
    else:
        raise ApiError(Kind.MISSING_PARAM, "image")
    return image, options


def _first_loc(exc: ValidationError) -> str:
    errors = exc.errors()
    return ".".join(str(p) for p in errors[0]["loc"]) if errors and errors[0]["loc"] else "body"


def api_key(request: Request) -> str | None:
    return auth.header_after(request, "Authorization", "Bearer") or request.headers.get("X-API-Key") or None


def to_body(reading: Reading, *, portrait: bool = False, card: bool = False) -> dict[str, Any]:
    """The answer for a Reading; the crops come as a pair from the reader, give only those asked for."""
    body = reading.model_dump(mode="json")
    if not portrait:
        body["portrait_image"] = None
    if not card:
        body["card_image"] = None
    return body


def example_answer(reading: Reading) -> dict[str, Any]:
    """What POST /v1/idcard answers for ``reading`` with default options."""
    return to_body(reading)


async def _work(request: Request, ctx: Ctx) -> Response:
    auth.check(request, VENDOR, api_key(request))
    image, options = await parse(request, IdCardRequest)
    reading = await recognize(request, image, options.side, images=options.return_portrait or options.return_card)
    return JSONResponse(to_body(reading, portrait=options.return_portrait, card=options.return_card))


_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": IdCardRequest.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "side": {"type": "string", "enum": ["auto", "front", "back"], "default": "auto"},
                    "return_portrait": {"type": "boolean", "default": False},
                    "return_card": {"type": "boolean", "default": False},
                },
            }
        },
    },
}


@router.post(
    "/v1/idcard",
    response_model=Reading,
    responses={code: {"model": ErrorAnswer} for code in (400, 401, 413, 415, 422, 429, 500)},
    openapi_extra={"requestBody": _REQUEST_BODY},
    summary="Read an ID card image",
)
async def read_idcard(request: Request) -> Response:
    return await answer(request, _work, error_response)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: models loaded and not shutting down")
async def readyz(request: Request) -> JSONResponse:
    ready = bool(getattr(request.app.state, "ready", False))
    runner: Runner = request.app.state.runner
    body = {
        "status": "ready" if ready else "starting",
        "pending": runner.pending,
        "capacity": runner.capacity,
    }
    from idcard_ocr.engine import current

    eng = current()
    if eng is not None:  # which ONNX runtime reads here, with how many threads, and why (runtime.choose)
        body["runtime"] = {"backend": eng.backend, "threads": eng.threads,
                           "reason": eng.choice.reason if eng.choice else "set by the caller"}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    runner: Runner = request.app.state.runner
    data, content_type = registry.exposition(runner.pending)
    return Response(data, media_type=content_type)
