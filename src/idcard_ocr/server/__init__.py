"""HTTP edge of idcard-ocr: our own API plus drop-in vendor adapters, all mapping one Reading.

`create_app(settings)` builds the FastAPI application; `serve(host, port, workers)` runs it under uvicorn.
"""

from __future__ import annotations

from idcard_ocr.server.app import create_app, serve
from idcard_ocr.server.config import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings", "serve"]
