"""What every route shares: request context, reads on the pool, problems turned into answers."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.requests import ClientDisconnect

from idcard_ocr.errors import ImageError
from idcard_ocr.model import Reading
from idcard_ocr.server.config import Settings
from idcard_ocr.server.problems import ApiError, Kind, from_image_error
from idcard_ocr.server.runner import Busy, Runner, Ticket, current_ticket

log = logging.getLogger("idcard_ocr.server")


@dataclass(frozen=True)
class Ctx:
    request_id: str
    started: float  # time.perf_counter() when the request arrived

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)


def ctx_of(request: Request) -> Ctx:
    state = request.scope.get("state", {})
    return Ctx(state.get("request_id", ""), state.get("started", time.perf_counter()))


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def body_limit(request: Request, vendor_limit: int) -> int:
    """The vendor's documented request size cap, never above the configured hard cap."""
    return min(vendor_limit, settings_of(request).max_body_bytes)


async def recognize(
    request: Request, image: bytes, side: str = "auto", images: bool = False, rectify: bool = True
) -> Reading:
    """Read ``image`` on the bounded pool; BUSY at once when it is full; image problems as ApiError.

    ``images`` also asks for ``portrait_image`` and ``card_image`` (base64 JPEG; costs an encode each)."""
    runner: Runner = request.app.state.runner
    try:
        return await runner.read(image, side, images, rectify)
    except Busy as exc:
        raise ApiError(Kind.BUSY) from exc
    except ImageError as exc:
        raise from_image_error(exc) from exc


def check_pixels(reading: Reading, shortest: int, longest: int) -> None:
    """Enforce a vendor's documented image size bounds on the decoded image."""
    width, height = reading.image_size
    if min(width, height) < shortest:
        raise ApiError(Kind.IMAGE_TOO_SMALL)
    if max(width, height) > longest:
        raise ApiError(Kind.IMAGE_TOO_LARGE)


Work = Callable[[Request, Ctx], Awaitable[Response]]
OnError = Callable[[ApiError, Ctx], Response]


def admit(request: Request) -> Ticket:
    """A place for this request, judged from its headers alone, before a byte of its body is read.

    It reserves the declared Content-Length (the hard cap when the body is chunked) against the body budget."""
    settings = settings_of(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        size = int(declared)
        if size > settings.max_body_bytes:
            raise ApiError(Kind.BODY_TOO_LARGE)
    else:
        size = settings.max_body_bytes if "transfer-encoding" in request.headers else 0
    runner: Runner = request.app.state.runner
    try:
        return runner.admit(size)
    except Busy as exc:
        raise ApiError(Kind.BUSY) from exc


async def answer(request: Request, work: Work, on_error: OnError) -> Response:
    """Admit the request, then run ``work``; any problem becomes the API's own error answer (busy ones with
    Retry-After: the queue's expected wait). A client that hangs up is no error."""
    ctx = ctx_of(request)
    state = request.scope.setdefault("state", {})
    ticket: Ticket | None = None
    close = False
    try:
        ticket = admit(request)
        token = current_ticket.set(ticket)
        try:
            return await work(request, ctx)
        finally:
            current_ticket.reset(token)
    except ApiError as exc:
        problem = exc
    except Busy:  # more body bytes than the budget holds (a URL to fetch)
        problem = ApiError(Kind.BUSY)
    except ClientDisconnect:
        if not state.get("body_timeout"):
            log.debug("request %s: the client hung up", ctx.request_id)
            return on_error(ApiError(Kind.BAD_BODY), ctx)  # nobody reads it; not counted as an error
        problem = ApiError(Kind.BAD_BODY, detail="body not received in time")
        close = True
    except Exception:
        # The core's messages name problems, never data; the traceback is kept for the operator.
        log.exception("request %s: internal error", ctx.request_id)
        problem = ApiError(Kind.INTERNAL)
    finally:
        if ticket is not None:
            ticket.release()
    state["error_kind"] = problem.kind.value
    log.info("request %s refused: %s", ctx.request_id, problem)
    response = on_error(problem, ctx)
    if problem.kind is Kind.BUSY:
        runner: Runner = request.app.state.runner
        response.headers["Retry-After"] = str(max(settings_of(request).retry_after, runner.retry_after()))
    if close:
        response.headers["Connection"] = "close"
    return response


def example(build: Callable[[Ctx], dict[str, Any]], on_error: OnError) -> dict[str, Any]:
    """An API's JSON answer as ``build`` makes it, or its JSON error body when ``build`` refuses the reading
    (no card, say). For the page's dialect tabs: one recognition shown as every API would answer it."""
    ctx = Ctx(str(uuid.uuid4()), time.perf_counter())
    try:
        return build(ctx)
    except ApiError as err:
        body: dict[str, Any] = json.loads(bytes(on_error(err, ctx).body))
        return body


def request_body(properties: dict[str, dict[str, Any]], required: list[str], *media: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for routes that parse their own body (shown in /docs, not enforced)."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in media}}}
