"""The FastAPI application: our API, the vendor adapters, the web page, request ids, metrics, warm-up first."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException

from idcard_ocr import engine
from idcard_ocr.model import Reading
from idcard_ocr.pipeline import read
from idcard_ocr.runtime import threads_per_worker
from idcard_ocr.server import memory, native, page
from idcard_ocr.server.auth import KeyChecker
from idcard_ocr.server.common import ctx_of
from idcard_ocr.server.config import ENV_PREFIX, Settings, load_settings
from idcard_ocr.server.inputs import UrlFetcher
from idcard_ocr.server.limits import BodyDeadline, GuardedH11Protocol
from idcard_ocr.server.metrics import Metrics, RequestContext
from idcard_ocr.server.problems import ApiError, Kind
from idcard_ocr.server.runner import ReadFn, Runner
from idcard_ocr.server.vendors import ERROR_SHAPES, ROUTERS

log = logging.getLogger("idcard_ocr.server")


def default_read(image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
    return read(image, side=side, images=images, rectify=rectify)  # type: ignore[arg-type]  # side is checked by each route


def default_warm_up() -> None:
    """Load the models and build each input shape's state (engine.warm_up), then read the bundled sample card
    once, so the reader's own first-use allocations are made before serving too: memory is flat from here."""
    from importlib import resources

    eng = engine.warm_up()
    read(resources.files("idcard_ocr").joinpath("data/sample_front.jpg").read_bytes(), engine=eng)


def create_app(
    settings: Settings | None = None,
    *,
    read_fn: ReadFn | None = None,
    warm_up: Callable[[], None] | None = None,
    fetch_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the app. ``read_fn``/``warm_up`` default to the library's; tests may pass their own."""
    settings = settings or load_settings()
    if settings.tune_memory:
        memory.tune()
    runner = Runner(read_fn or default_read, settings.concurrency, settings.queue_size, settings.body_budget_bytes,
                    trim_memory=settings.tune_memory)
    fetcher = UrlFetcher(settings, transport=fetch_transport)
    keys = KeyChecker(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys.log_state()
        if settings.warm_up:
            log.info("warming up the OCR engine")
            await runner.call(warm_up or default_warm_up)
        app.state.ready = True
        log.info("ready: %d recognition thread(s), %d queued at most", runner.threads, settings.queue_size)
        try:
            yield
        finally:
            app.state.ready = False
            await fetcher.aclose()
            runner.shutdown()

    app = FastAPI(
        title="idcard-ocr",
        version="0.1.0",
        summary="Offline reader for the Chinese resident ID card, with drop-in vendor APIs",
        lifespan=lifespan,
        redirect_slashes=False,  # its 307 would build Location from the client's Host header
    )
    app.state.settings = settings
    app.state.runner = runner
    app.state.fetcher = fetcher
    app.state.keys = keys
    app.state.metrics = metrics
    app.state.ready = False
    app.add_middleware(BodyDeadline, total=settings.body_timeout, idle=settings.body_idle_timeout)
    app.add_middleware(RequestContext, metrics=metrics)
    app.include_router(native.router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(page.router)

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(request: Request, exc: StarletteHTTPException) -> Response:
        """404 and 405 under an API's own paths answer in that API's error shape (FastAPI's elsewhere)."""
        kind = {404: Kind.NOT_FOUND, 405: Kind.METHOD_NOT_ALLOWED}.get(exc.status_code)
        path = request.url.path
        on_error = next((fn for base, fn in ERROR_SHAPES if path == base.rstrip("/") or path.startswith(
            base.rstrip("/") + "/")), None)
        if kind is None or on_error is None:
            return await http_exception_handler(request, exc)
        return on_error(ApiError(kind), ctx_of(request))

    return app


class DropQuery(logging.Filter):
    """uvicorn's access log without query strings: a client may put a citizen's number there (?id=...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True


def serve(host: str | None = None, port: int | None = None, workers: int | None = None,
          log_level: str = "info") -> None:
    """Run the server under uvicorn: one process per core unless told, models warmed before each serves."""
    import copy
    import os

    import uvicorn
    import uvicorn.config

    settings = load_settings()
    workers = workers or settings.effective_workers()
    os.environ[ENV_PREFIX + "WORKERS"] = str(workers)
    # onnxruntime threads per engine (read by idcard_ocr.engine): share the cores among the workers
    os.environ.setdefault(ENV_PREFIX + "THREADS", str(threads_per_worker(workers)))
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)  # applied in every worker process
    log_config["loggers"]["idcard_ocr"] = {"handlers": ["default"], "level": log_level.upper()
                                           if log_level != "trace" else "DEBUG", "propagate": False}
    log_config.setdefault("filters", {})["drop_query"] = {"()": "idcard_ocr.server.app.DropQuery"}
    log_config["handlers"]["access"]["filters"] = ["drop_query"]
    uvicorn.run(
        "idcard_ocr.server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=settings.port if port is None else port,
        workers=workers,
        timeout_graceful_shutdown=30,
        http=GuardedH11Protocol,  # header deadline and connection cap (limits.py)
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        log_config=log_config,
        log_level=log_level,
    )
