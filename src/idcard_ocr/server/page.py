"""The web page: GET / and its two static files (inside the package, no CDN), and POST /ui/read, the one
route it reads with: one recognition, answered as our Reading plus every API dialect and the crops.

The page's route is our API underneath: the same bounded runner, the native API's keys and error answers.
"""

from __future__ import annotations

import base64
import logging
from functools import cache
from importlib import resources
from typing import Any

import cv2
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import Field as PField

from idcard_ocr.decode import decode_with_meta
from idcard_ocr.model import Reading
from idcard_ocr.server import auth, native
from idcard_ocr.server.common import Ctx, answer, recognize
from idcard_ocr.server.runner import Runner
from idcard_ocr.server.vendors import DIALECTS

log = logging.getLogger("idcard_ocr.server")
router = APIRouter(tags=["Web page"])

# name -> content type; nothing else under /ui/ is served
FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "icon.png": "image/png",
}
# The page loads only its own files and talks only to this server; images are shown from blob: and data: URLs.
HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PREVIEW_SIDE = 1600  # longest side of the server-drawn preview, px


@cache
def static_file(name: str) -> bytes:
    return (resources.files("idcard_ocr.server") / "web" / name).read_bytes()


def _static(name: str) -> Response:
    return Response(static_file(name), media_type=FILES[name], headers=HEADERS)


@router.get("/", include_in_schema=False)
async def index() -> Response:
    return _static("index.html")


@router.get("/ui/{name}", include_in_schema=False)
async def ui_file(name: str) -> Response:
    if name not in FILES or name == "index.html":
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return _static(name)


class PageRequest(native.ImageRequest):
    """POST /ui/read: the image (multipart ``image``, or JSON ``image``/``url`` as POST /v1/idcard takes them)."""

    preview: bool = PField(
        False, description="Also return the decoded, upright image as a JPEG (for files a browser cannot show)"
    )


class DialectAnswer(BaseModel):
    name: str = PField(description="The API, as 'Vendor (path)'")
    answer: dict[str, Any] | None = PField(description="Its JSON body for this reading (its error body if it refuses)")


class PageAnswer(BaseModel):
    reading: Reading = PField(description="Our answer, with portrait_image and card_image")
    dialects: list[DialectAnswer]
    preview: str | None = PField(None, description="On request: the upright image, base64 JPEG, longest side 1600")


def preview_jpeg(image: bytes, longest: int = PREVIEW_SIDE) -> str:
    """The image as the reader saw it (EXIF-upright: the Reading's coordinates), scaled down, base64 JPEG."""
    pixels = decode_with_meta(image).pixels
    height, width = pixels.shape[:2]
    scale = min(1.0, longest / max(height, width))
    if scale < 1.0:
        pixels = cv2.resize(pixels, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def dialects(reading: Reading) -> list[dict[str, Any]]:
    """The reading as each API answers it; one API's mapping failing does not take the others down."""
    out: list[dict[str, Any]] = []
    for name, to_answer in DIALECTS.items():
        try:
            body: dict[str, Any] | None = to_answer(reading)
        except Exception:
            log.exception("dialect %s could not map the reading", name)
            body = None
        out.append({"name": name, "answer": body})
    return out


async def _work(request: Request, ctx: Ctx) -> Response:
    auth.check(request, native.VENDOR, native.api_key(request))
    image, options = await native.parse(request, PageRequest)
    reading = await recognize(request, image, options.side, images=True)
    preview = None
    if options.preview:
        # after the recognition, on the same pool's threads: no more decoding at once than reading
        runner: Runner = request.app.state.runner
        preview = await runner.call(lambda: preview_jpeg(image))
    body = {"reading": reading.model_dump(mode="json"), "dialects": dialects(reading), "preview": preview}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "side": {"type": "string", "enum": ["auto", "front", "back"], "default": "auto"},
                    "preview": {"type": "boolean", "default": False},
                },
            }
        },
        "application/json": {"schema": PageRequest.model_json_schema()},
    },
}


@router.post(
    "/ui/read",
    response_model=PageAnswer,
    responses={code: {"model": native.ErrorAnswer} for code in (400, 401, 413, 415, 422, 429, 500)},
    openapi_extra={"requestBody": _REQUEST_BODY},
    summary="Read an ID card for the web page: our answer, every API's answer, the crops",
)
async def read_for_page(request: Request) -> Response:
    return await answer(request, _work, native.error_response)
