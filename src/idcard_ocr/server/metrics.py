"""Prometheus metrics and the X-Request-Id middleware that feeds them.

With several uvicorn workers each process counts for itself; set PROMETHEUS_MULTIPROC_DIR (an empty directory,
before start) to have /metrics add up every worker through prometheus_client's multiprocess mode.
"""

from __future__ import annotations

import os
import re
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "idcard_ocr_requests", "HTTP requests answered", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "idcard_ocr_request_duration_seconds",
            "Time to answer",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter("idcard_ocr_errors", "Requests refused, by problem", ["route", "code"], registry=r)
        self.in_flight = Gauge(
            "idcard_ocr_requests_in_flight",
            "HTTP requests being answered",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pending = Gauge(
            "idcard_ocr_recognitions_pending",
            "Recognitions running or queued",
            registry=r,
            multiprocess_mode="livesum",
        )

    def exposition(self, pending: int) -> tuple[bytes, str]:
        self.pending.set(pending)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestContext:
    """Gives each request an id (kept from a sane incoming X-Request-Id), answers it in X-Request-Id, and
    records requests, latency, errors and in-flight count by route template (never by raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.fullmatch(incoming) else str(uuid.uuid4())
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started"] = started
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            kind = state.get("error_kind")
            if kind:
                self.metrics.errors.labels(route, kind).inc()
