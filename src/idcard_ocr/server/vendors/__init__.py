"""Drop-in vendor APIs, one module per seed: each a pure mapping between its vendor's request, answer and
errors and our one Reading, plus its router. No OCR logic lives here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response

from idcard_ocr.server import native
from idcard_ocr.server.common import Ctx
from idcard_ocr.server.problems import ApiError
from idcard_ocr.server.vendors import aliyun_do, aliyun_market, baidu, dispatch, faceplusplus, huawei, pai_eas

ROUTERS: tuple[APIRouter, ...] = (
    aliyun_market.router,
    faceplusplus.router,
    huawei.router,
    aliyun_do.router,
    pai_eas.router,
    baidu.router,
    dispatch.router,  # POST /: Tencent Cloud and Alibaba Cloud OCR, by action header
)

# Each API's own paths (that path and those under it) -> its error answer, for routes that do not exist there
# (404/405).
ERROR_SHAPES: tuple[tuple[str, Callable[[ApiError, Ctx], Response]], ...] = (
    ("/v1/", native.error_response),
    ("/idcard", aliyun_market.error_response),
    ("/faceid/", faceplusplus.error_response),
    ("/v1.0/ocr/", huawei.error_response),
    ("/v2/", huawei.error_response),
    ("/do", aliyun_do.error_response),
    ("/api/predict/", pai_eas.error_response),
    ("/rest/2.0/ocr/", baidu.error_response),
    ("/oauth/2.0/", baidu.error_response),
)
