"""Drop-in vendor APIs, one module per seed: each a pure mapping between its vendor's request, answer and
errors and our one Reading, plus its router. No OCR logic lives here."""

from __future__ import annotations

from fastapi import APIRouter

from idcard_ocr.server.vendors import aliyun_do, aliyun_market, faceplusplus, huawei, pai_eas

ROUTERS: tuple[APIRouter, ...] = (
    aliyun_market.router,
    faceplusplus.router,
    huawei.router,
    aliyun_do.router,
    pai_eas.router,
)
