"""Shared test helpers for the HTTP server: hand-built Readings, a fake reader, live servers on loopback."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from fastapi import FastAPI
from PIL import Image

from idcard_ocr.errors import UndecodableImage
from idcard_ocr.model import (
    BACK_FIELDS,
    FACEPP_CLASSES,
    FRONT_FIELDS,
    RISK_CLASSES,
    Card,
    Checks,
    Field,
    Point,
    Portrait,
    Quality,
    Reading,
    Risk,
)
from idcard_ocr.server import Settings, create_app
from idcard_ocr.server.runner import Busy, ReadFn, Ticket


def png(width: int = 400, height: int = 252) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 210, 220)).save(buf, format="PNG")
    return buf.getvalue()


PNG = png()
PNG_B64 = base64.b64encode(PNG).decode()

# The seed 000 example card (金阳); values as the core normalizes them.
FRONT = {
    "name": "金阳",
    "sex": "女",
    "nation": "汉",
    "birth": "1978-10-27",
    "address": "北京市西城区复兴门外大街999号院11号楼3单元502室",
    "number": "110102197810272321",
}
BACK = {"authority": "北京市公安局西城分局", "valid_from": "2004-10-27", "valid_to": "2024-10-26"}
GOOD_CHECKS = Checks(checksum=True, area_known=True, birth_matches=True, sex_matches=True)


def box(index: int) -> list[tuple[float, float]]:
    """A distinct, slightly tilted quadrilateral per field."""
    x, y = 100.0 + 10 * index, 50.0 + 60 * index
    return [(x, y), (x + 300.0, y + 2.0), (x + 300.0, y + 42.0), (x, y + 40.0)]


def make_reading(
    side: str = "front",
    values: dict[str, str] | None = None,
    *,
    rotation: int = 0,
    checks: Checks | None = None,
    image_size: tuple[int, int] = (1000, 630),
) -> Reading:
    """A Reading as the core would give it: ``values`` default to the sides' sample values."""
    if values is None:
        values = {
            **(FRONT if side in ("front", "both") else {}),
            **(BACK if side in ("back", "both") else {}),
        }
    fields = {
        name: Field(value=v, confidence=0.99, box=box(i)) for i, (name, v) in enumerate(values.items()) if v
    }
    cards = []
    for card_side, names in (("front", FRONT_FIELDS), ("back", BACK_FIELDS)):
        if side in (card_side, "both"):
            own = {k: f for k, f in fields.items() if k in names}
            quad = [(10.0, 10.0), (900.0, 10.0), (900.0, 580.0), (10.0, 580.0)]
            cards.append(Card(side=card_side, rotation=rotation, quad=quad, fields=own))  # type: ignore[arg-type]
    return Reading(
        side=side,  # type: ignore[arg-type]
        rotation=rotation,  # type: ignore[arg-type]
        fields=fields,
        checks=checks if checks is not None else (GOOD_CHECKS if "number" in fields else Checks()),
        cards=cards,
        image_size=image_size,
        time_ms=12.5,
    )


def jpeg_b64(width: int = 60, height: int = 80) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 70)).save(buf, format="JPEG")
    return base64.b64encode(buf.getvalue()).decode()


HEAD_RECT = {
    "lt": Point(x=0.6, y=0.19),
    "rt": Point(x=0.89, y=0.19),
    "rb": Point(x=0.89, y=0.72),
    "lb": Point(x=0.6, y=0.71),
}


def with_checks(
    reading: Reading,
    *,
    kind: str = "original",
    image_status: str = "normal",
    edit_tool: str | None = None,
    portrait: bool = True,
) -> Reading:
    """``reading`` with the card checks the core adds: a portrait (on a front), quality, risk and both crops."""
    scores = {name: (0.9 if cls == kind else 0.025) for name, cls in zip(FACEPP_CLASSES, RISK_CLASSES)}
    front = next((i for i, c in enumerate(reading.cards) if c.side == "front"), None)
    update: dict[str, Any] = {
        "card_type": "resident",
        "quality": Quality(score=90, blur=False, image_status=image_status),  # type: ignore[arg-type]
        "risk": Risk(kind=kind, scores=scores, edit_tool=edit_tool),  # type: ignore[arg-type]
        "card_image": jpeg_b64(320, 202),
    }
    if portrait and front is not None:
        quad = [(600.0, 120.0), (890.0, 120.0), (890.0, 450.0), (600.0, 450.0)]
        update["portrait"] = Portrait(card=front, quad=quad, box=(600, 120, 290, 330), head_rect=HEAD_RECT)
        update["portrait_image"] = jpeg_b64()
    return reading.model_copy(update=update)


class FakeReader:
    """Stands in for idcard_ocr.read: refuses non-images like the core, then answers ``result``."""

    def __init__(
        self,
        result: Reading | Exception | None = None,
        *,
        gate: threading.Event | None = None,
        delay: float = 0.0,
    ) -> None:
        self.result = result if result is not None else make_reading()
        self.gate = gate
        self.delay = delay
        self.calls: list[tuple[bytes, str]] = []
        self.images: list[bool] = []  # the ``images`` flag of each call
        self.rectify: list[bool] = []  # the ``rectify`` flag of each call
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def __call__(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
        with self._lock:
            self.calls.append((image, side))
            self.images.append(images)
            self.rectify.append(rectify)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if self.gate is not None:
                self.gate.wait(10)
            if self.delay:
                time.sleep(self.delay)
            if not image.startswith((b"\x89PNG", b"\xff\xd8")):
                raise UndecodableImage("not a supported image format")
            if isinstance(self.result, Exception):
                raise self.result
            if not images:  # as the core: the crops only on request
                return self.result.model_copy(update={"portrait_image": None, "card_image": None})
            return self.result
        finally:
            with self._lock:
                self.running -= 1


class BusyRunner:
    """A pool whose queue is always full."""

    threads = 1
    capacity = 0
    pending = 0

    def admit(self, body_bytes: int = 0) -> Ticket:
        raise Busy()

    def retry_after(self) -> int:
        return 0

    async def read(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
        raise Busy()

    def shutdown(self) -> None:
        pass


def make_app(reader: ReadFn | None = None, **settings: Any) -> FastAPI:
    return create_app(Settings(warm_up=False, **settings), read_fn=reader or FakeReader())


def busy_app(**settings: Any) -> FastAPI:
    app = make_app(**settings)
    app.state.runner = BusyRunner()
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(app: FastAPI, **config: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port (``config``: more uvicorn.Config options); yields its
    base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # the real reader loads its models and runs each input shape first
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


Route = tuple[int, dict[str, str], bytes]


@contextmanager
def image_server(routes: dict[str, Route]) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 answering GET ``path`` with (status, headers, body)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for key, val in headers.items():
                self.send_header(key, val)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
