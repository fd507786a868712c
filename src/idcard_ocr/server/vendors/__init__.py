"""Drop-in vendor APIs, one module per seed: each a pure mapping between its vendor's request, answer and
errors and our one Reading, plus its router. No OCR logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response

from idcard_ocr.model import Reading
from idcard_ocr.server import native
from idcard_ocr.server.common import Ctx
from idcard_ocr.server.problems import ApiError
from idcard_ocr.server.vendors import (
    aliyun_do,
    aliyun_market,
    aliyun_ocr,
    baidu,
    dispatch,
    faceplusplus,
    huawei,
    pai_eas,
    tencent,
)

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

# Display name ("Vendor (path)") -> the JSON body that API answers for a Reading with its default options (its
# error body when it refuses the reading). The page shows one recognition in every dialect listed here.
Dialect = Callable[[Reading], dict[str, Any]]
DIALECTS: dict[str, Dialect] = {
    "idcard-ocr (/v1/idcard)": native.example_answer,
    "Alibaba Cloud market (/idcard/ocr)": aliyun_market.example_answer,
    "Face++ (/faceid/v1/ocridcard)": faceplusplus.example_answer,
    "Huawei Cloud (/v1.0/ocr/id-card)": huawei.example_answer,
    "Alibaba Cloud market (/do)": aliyun_do.example_answer,
    "PAI-EAS (/api/predict/{service})": pai_eas.example_answer,
    "Tencent Cloud IDCardOCR (/)": tencent.example_answer,
    "Baidu (/rest/2.0/ocr/v1/idcard)": baidu.example_answer,
    "Alibaba Cloud OCR RecognizeIdcard (/)": aliyun_ocr.example_answer,
}
