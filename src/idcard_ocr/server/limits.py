"""Connection guards uvicorn leaves out: a deadline for request headers and bodies, and open connections capped.

uvicorn's h11 server has a keep-alive timeout, but any byte resets it and nothing bounds the time a request's
headers or body take: a client sending one byte every few seconds (slowloris) holds its connection and, for a
body, a place in the queue for ever. `GuardedH11Protocol` closes a connection whose next request's headers are
not all in within ``header_timeout`` seconds (from its opening, or from the end of the previous answer) and
closes at once any connection beyond ``max_connections`` per worker. `BodyDeadline` gives a request's body
``body_timeout`` seconds in all and ``body_idle_timeout`` between two chunks; past either, the app sees the
client as gone and the route answers its bad-body error with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from idcard_ocr.server.config import Settings, load_settings

log = logging.getLogger("idcard_ocr.server")
# python-multipart warns for every malformed part it meets: a client could fill the log at will; the route's
# own answer (bad body) already says it.
logging.getLogger("python_multipart").setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return load_settings()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a cap on open connections (per worker process).

    The limits come from the settings (IDCARD_OCR_HEADER_TIMEOUT, IDCARD_OCR_MAX_CONNECTIONS) unless a subclass
    sets them (`guarded_protocol`)."""

    header_timeout: float | None = None
    max_connections: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        cap = self.max_connections if self.max_connections is not None else _settings().max_connections
        if len(self.connections) > cap:
            log.warning("connection refused: %d open connections is the cap of this worker", cap)
            transport.abort()
            return
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        timeout = self.header_timeout if self.header_timeout is not None else _settings().header_timeout
        self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info("connection closed: request headers not received in time")
            self.transport.close()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a new request's headers are all in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm_header_timer()  # before super(): a pipelined request it parses disarms it
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """A body that breaks HTTP framing (a bad chunk size) while the app already answers its request:
        uvicorn would write its 400 under the app's feet (for HEAD it cannot write one at all) and the app's
        own answer then fails, a traceback in the log either way. The app is told the client is gone (its
        answer is dropped) and the connection is closed."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
            self.transport.close()
            return
        try:
            super().send_400_response(msg)
        except h11.LocalProtocolError:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A `GuardedH11Protocol` with its own limits (tests; one process)."""
    return type("GuardedH11ProtocolWithLimits", (GuardedH11Protocol,),
                {"header_timeout": header_timeout, "max_connections": max_connections})


class BodyDeadline:
    """Bounds the time a request's body takes: ``total`` seconds in all, ``idle`` between two chunks.

    Past either, ``receive`` answers ``http.disconnect`` (the route sees the client as gone) and the request's
    state says ``body_timeout``; an app that still answers nothing gets a bare 408 with ``Connection: close``."""

    def __init__(self, app: ASGIApp, total: float, idle: float) -> None:
        self.app = app
        self.total = total
        self.idle = idle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.total
        body_done = False
        timed_out = False
        started = False
        state: dict[str, Any] = scope.setdefault("state", {})

        async def guarded_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done or timed_out:  # later calls wait for a disconnect, for as long as it takes
                return {"type": "http.disconnect"} if timed_out else await receive()
            wait = min(self.idle, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except asyncio.TimeoutError:
                timed_out = True
                state["body_timeout"] = True
                log.info("request body not received in time")
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, guarded_receive, tracked_send)
        if timed_out and not started:
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": b"request body not received in time"})
