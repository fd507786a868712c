"""/readyz names the ONNX runtime that reads in this process, its threads, and why it was chosen."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_helpers import FakeReader

from idcard_ocr.engine import Engine
from idcard_ocr.server.app import create_app
from idcard_ocr.server.config import Settings


def test_readyz_reports_the_runtime(engine: Engine) -> None:
    app = create_app(Settings(), read_fn=FakeReader(), warm_up=lambda: None)
    with TestClient(app) as live:
        body = live.get("/readyz").json()
    assert body["status"] == "ready"
    rt = body["runtime"]
    assert rt["backend"] == engine.backend and rt["backend"] in ("onnxruntime", "openvino")
    assert rt["threads"] == engine.threads >= 1
    assert rt["reason"] and rt["reason"] == (engine.choice.reason if engine.choice else "set by the caller")
