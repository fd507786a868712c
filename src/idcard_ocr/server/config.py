"""Server settings: defaults, then an optional TOML file, then IDCARD_OCR_* environment variables.

Environment variables (each overrides the TOML file):

    IDCARD_OCR_CONFIG               path of a TOML file with the keys below (api keys in an [api_keys] table)
    IDCARD_OCR_HOST / _PORT         where `serve` listens (default 127.0.0.1:8080)
    IDCARD_OCR_WORKERS              uvicorn worker processes (default: one per core)
    IDCARD_OCR_CONCURRENCY          recognitions running at once per worker (default 1: the engine is one per
                                    process and not thread-safe, so parallelism comes from workers)
    IDCARD_OCR_QUEUE_SIZE           recognitions waiting per worker before "busy" (default 8)
    IDCARD_OCR_RETRY_AFTER          least seconds advertised in Retry-After when busy (default 1); the value
                                    sent is the queue's expected wait: places taken x recent recognition time
    IDCARD_OCR_MAX_BODY_BYTES       hard cap on any request body (default 16 MiB; vendors' own caps are lower)
    IDCARD_OCR_BODY_BUDGET_BYTES    request body bytes in flight per worker (default 48 MiB): each request
                                    reserves its Content-Length (or MAX_BODY_BYTES when it sends none, and
                                    FETCH_MAX_BYTES more for a URL) from its headers, before its body is read;
                                    past the budget it is answered busy at once. One request alone is always
                                    admitted. A body's parsed and decoded copies cost up to ~3x its size on top.
    IDCARD_OCR_HEADER_TIMEOUT       seconds a connection may take to send a request's headers, from its
                                    opening or the end of the previous answer (default 10; slowloris)
    IDCARD_OCR_BODY_TIMEOUT         seconds a request may take to send its whole body (default 60)
    IDCARD_OCR_BODY_IDLE_TIMEOUT    seconds without a body byte before the request is dropped (default 15)
    IDCARD_OCR_KEEP_ALIVE_TIMEOUT   seconds an idle keep-alive connection stays open (default 5)
    IDCARD_OCR_MAX_CONNECTIONS      open connections per worker; more are closed at once (default 200)
    IDCARD_OCR_MAX_HEADER_BYTES     largest request line + headers (default 16 KiB; more is a plain 400)
    IDCARD_OCR_FETCH_CONNECT_TIMEOUT, _FETCH_READ_TIMEOUT, _FETCH_TOTAL_TIMEOUT   seconds for URL input
    IDCARD_OCR_FETCH_MAX_BYTES      largest image fetched from a URL (default 10 MiB)
    IDCARD_OCR_FETCH_MAX_REDIRECTS  redirects followed, each re-checked (default 3)
    IDCARD_OCR_URL_ALLOWLIST        comma-separated CIDRs or host names that URL input may reach even though
                                    they are loopback/private/link-local (refused by default)
    IDCARD_OCR_WARM_UP              load the models before serving (default true)
    IDCARD_OCR_TUNE_MEMORY          glibc malloc: large buffers in their own mappings (returned when freed), two
                                    arenas, freed memory trimmed when the pool is idle (default true; memory.py)
    IDCARD_OCR_KEYS_<VENDOR>        comma-separated API keys for one API; VENDOR is NATIVE, ALIYUN_MARKET,
                                    FACEPLUSPLUS (each "api_key:api_secret"), HUAWEI (plain tokens and
                                    "AK:SK" pairs side by side), ALIYUN_DO, PAI_EAS (tokens, also the HMAC
                                    key of signed calls), TENCENT ("SecretId:SecretKey"), BAIDU
                                    ("API Key:Secret Key") or ALIYUN_OCR ("AccessKeyId:AccessKeySecret").
                                    An API with no key configured accepts every caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

VENDORS: tuple[str, ...] = (
    "native", "aliyun_market", "faceplusplus", "huawei", "aliyun_do", "pai_eas", "tencent", "baidu", "aliyun_ocr",
)
ENV_PREFIX = "IDCARD_OCR_"
MiB = 1024 * 1024


class Settings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int | None = Field(None, ge=1, description="uvicorn processes; None means one per core")
    concurrency: int = Field(1, ge=1, description="recognitions at once per process")
    queue_size: int = Field(8, ge=0, description="recognitions allowed to wait per process")
    retry_after: int = Field(1, ge=0)
    max_body_bytes: int = Field(16 * MiB, ge=1024)
    body_budget_bytes: int = Field(48 * MiB, ge=1024, description="body bytes in flight per worker")
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(60.0, gt=0)
    body_idle_timeout: float = Field(15.0, gt=0)
    keep_alive_timeout: float = Field(5.0, gt=0)
    max_connections: int = Field(200, ge=1)
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    fetch_connect_timeout: float = Field(3.0, gt=0)
    fetch_read_timeout: float = Field(10.0, gt=0)
    fetch_total_timeout: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(10 * MiB, ge=1)
    fetch_max_redirects: int = Field(3, ge=0)
    url_allowlist: list[str] = Field(default_factory=list)
    warm_up: bool = True
    tune_memory: bool = True
    api_keys: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("api_keys")
    @classmethod
    def _known_vendors(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(VENDORS)
        if unknown:
            raise ValueError(f"api_keys for unknown APIs: {sorted(unknown)}; known: {list(VENDORS)}")
        return {k: [key for key in keys if key] for k, keys in value.items()}

    def keys_for(self, vendor: str) -> list[str]:
        return self.api_keys.get(vendor, [])

    def effective_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        if name == "api_keys":
            continue
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        out[name] = _split(raw) if name == "url_allowlist" else raw
    keys = {
        v: _split(env[ENV_PREFIX + "KEYS_" + v.upper()]) for v in VENDORS if ENV_PREFIX + "KEYS_" + v.upper() in env
    }
    if keys:
        out["api_keys"] = keys
    return out


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError as exc:  # Python 3.10
        raise RuntimeError("reading a TOML config needs Python 3.11+ (tomllib)") from exc
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    keys = data.get("api_keys")
    if isinstance(keys, dict):
        data["api_keys"] = {k: [v] if isinstance(v, str) else list(v) for k, v in keys.items()}
    return data


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults < TOML file (``path`` or $IDCARD_OCR_CONFIG) < environment variables."""
    env = os.environ if env is None else env
    path = path or env.get(ENV_PREFIX + "CONFIG")
    merged: dict[str, Any] = _from_toml(Path(path)) if path else {}
    from_env = _from_env(env)
    if "api_keys" in from_env:
        merged["api_keys"] = {**merged.get("api_keys", {}), **from_env.pop("api_keys")}
    merged.update(from_env)
    return Settings.model_validate(merged)
