"""POST /: the APIs that share the root path, told apart by their action header.

``X-TC-Action`` goes to Tencent Cloud (tencent.py), ``x-acs-action`` to Alibaba Cloud OCR (aliyun_ocr.py); a POST
to / with neither gets a 400 naming both. (GET / is not an API route.)
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from idcard_ocr.server.vendors import aliyun_ocr, tencent

router = APIRouter(tags=["Tencent Cloud IDCardOCR / Alibaba Cloud OCR RecognizeIdcard (POST /)"])
NO_ACTION = {
    "error": "missing_action",
    "message": "POST / serves Tencent Cloud IDCardOCR (X-TC-Action header) and Alibaba Cloud OCR RecognizeIdcard "
               "(x-acs-action header); this request has neither.",
}


@router.post("/", summary="IDCardOCR (X-TC-Action, Tencent Cloud) or RecognizeIdcard (x-acs-action, Alibaba Cloud)")
async def root_action(request: Request) -> Response:
    if "x-tc-action" in request.headers:
        return await tencent.handle(request)
    if "x-acs-action" in request.headers:
        return await aliyun_ocr.handle(request)
    return JSONResponse(NO_ACTION, status_code=400)
