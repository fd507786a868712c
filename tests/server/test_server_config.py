"""Settings from defaults, a TOML file and IDCARD_OCR_* environment variables; auth logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from server_helpers import FakeReader

from idcard_ocr.server import create_app, load_settings
from idcard_ocr.server.config import Settings


def test_defaults() -> None:
    s = load_settings(env={})
    assert (s.host, s.port, s.concurrency, s.queue_size) == ("127.0.0.1", 8080, 1, 8)
    assert s.api_keys == {}
    assert s.url_allowlist == []
    assert s.effective_workers() >= 1


def test_toml_then_env(tmp_path: Path) -> None:
    toml = tmp_path / "idcard.toml"
    toml.write_text(
        'host = "0.0.0.0"\nport = 9000\nqueue_size = 3\nurl_allowlist = ["10.1.0.0/16"]\n'
        '[api_keys]\nhuawei = "tok"\nfaceplusplus = ["k:s", "k2:s2"]\n',
        encoding="utf-8",
    )
    env = {
        "IDCARD_OCR_CONFIG": str(toml),
        "IDCARD_OCR_PORT": "9100",
        "IDCARD_OCR_URL_ALLOWLIST": "127.0.0.1/32, images.internal",
        "IDCARD_OCR_KEYS_PAI_EAS": "t1,t2",
        "IDCARD_OCR_WARM_UP": "false",
    }
    s = load_settings(env=env)
    assert (s.host, s.port, s.queue_size, s.warm_up) == ("0.0.0.0", 9100, 3, False)
    assert s.url_allowlist == ["127.0.0.1/32", "images.internal"]
    assert s.api_keys == {"huawei": ["tok"], "faceplusplus": ["k:s", "k2:s2"], "pai_eas": ["t1", "t2"]}


def test_unknown_api_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(api_keys={"sensetime": ["x"]})


def test_auth_state_logged_once_at_start(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(warm_up=False, api_keys={"huawei": ["t"]}), read_fn=FakeReader())
    with caplog.at_level(logging.INFO, logger="idcard_ocr.server"), TestClient(app):
        pass
    off = [r.getMessage() for r in caplog.records if "authentication is OFF" in r.getMessage()]
    vendors = "native, aliyun_market, faceplusplus, aliyun_do, pai_eas, tencent, baidu, aliyun_ocr"
    assert off == [f"authentication is OFF for: {vendors} (no API keys configured)"]
    assert any("authentication is on for: huawei" in r.getMessage() for r in caplog.records)
