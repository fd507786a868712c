"""The vendors' official Python SDKs pointed at a loopback server, as their users would (only the endpoint changes),
and rendered cards as the JPEG bytes a user would send."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cv2


def jpeg(image: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(buf.tobytes())


def host_of(base: str) -> str:
    return base.split("://", 1)[1]


def tencent(base: str, secret_id: str, secret_key: str) -> Any:
    """tencentcloud-sdk-python-ocr's OcrClient; only HttpProfile's protocol and endpoint differ from the docs."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.ocr.v20181119 import ocr_client

    http_profile = HttpProfile(protocol="http", endpoint=host_of(base))
    return ocr_client.OcrClient(credential.Credential(secret_id, secret_key), "ap-guangzhou",
                                ClientProfile(httpProfile=http_profile))


def aliyun(base: str, access_key_id: str, access_key_secret: str) -> Any:
    """alibabacloud-ocr-api20210707's Client; only Config's endpoint and protocol differ from the docs."""
    from alibabacloud_ocr_api20210707.client import Client
    from alibabacloud_tea_openapi.models import Config

    # (read_timeout in ms: the SDK's default 10 s is short for a card read on a busy 2-core CI machine)
    config = Config(access_key_id=access_key_id, access_key_secret=access_key_secret, endpoint=host_of(base),
                    protocol="http", read_timeout=60_000)
    return Client(config)


def aliyun_request(image: bytes | None = None, **options: Any) -> Any:
    from alibabacloud_ocr_api20210707 import models

    return models.RecognizeIdcardRequest(body=io.BytesIO(image) if image is not None else None, **options)


@contextmanager
def baidu_urls(base: str) -> Iterator[None]:
    """baidu-aip hard-codes https://aip.baidubce.com in class attributes (AipBase's token URL, AipOcr's idcard
    URL): a user points them at the server the same way, and only the host changes."""
    from aip import AipOcr
    from aip.base import AipBase

    saved = AipBase._AipBase__accessTokenUrl, AipOcr._AipOcr__idcardUrl  # type: ignore[attr-defined]
    AipBase._AipBase__accessTokenUrl = base + "/oauth/2.0/token"  # type: ignore[attr-defined]
    AipOcr._AipOcr__idcardUrl = base + "/rest/2.0/ocr/v1/idcard"  # type: ignore[attr-defined]
    try:
        yield
    finally:
        AipBase._AipBase__accessTokenUrl, AipOcr._AipOcr__idcardUrl = saved  # type: ignore[attr-defined]


def baidu(app_id: str, api_key: str, secret_key: str) -> Any:
    from aip import AipOcr

    return AipOcr(app_id, api_key, secret_key)
