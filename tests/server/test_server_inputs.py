"""Image extraction: base64, data URIs, and the URL fetcher's SSRF guard (loopback traffic only)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket

import httpx
import pytest
from server_helpers import PNG, PNG_B64, image_server

from idcard_ocr.server.config import Settings
from idcard_ocr.server.inputs import UrlFetcher, address_is_public, decode_base64, decode_image_string
from idcard_ocr.server.problems import ApiError, Kind


def _kind(fn: object, *args: object, **kwargs: object) -> Kind:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    return info.value.kind


def test_base64_forms() -> None:
    assert decode_base64(PNG_B64) == PNG
    assert decode_base64(base64.urlsafe_b64encode(PNG).decode()) == PNG
    assert decode_base64("\n".join(PNG_B64[i : i + 76] for i in range(0, len(PNG_B64), 76))) == PNG
    raw = b"ab\xfb\xef\xbecd" * 10
    with_plus = base64.b64encode(raw).decode()
    assert "+" in with_plus
    assert decode_base64(with_plus.replace("+", " ")) == raw  # a form-decoded '+'


def test_base64_errors() -> None:
    assert _kind(decode_base64, "") is Kind.EMPTY_IMAGE
    assert _kind(decode_base64, "   ") is Kind.EMPTY_IMAGE
    assert _kind(decode_base64, "ab$d") is Kind.BASE64_CHARS
    assert _kind(decode_base64, "ab=d") is Kind.BASE64_CHARS
    assert _kind(decode_base64, "abcde") is Kind.BASE64_PADDING
    assert _kind(decode_base64, "====") is Kind.BASE64_CHARS


def test_data_uri() -> None:
    assert decode_image_string("data:image/jpeg;base64," + PNG_B64) == PNG
    assert (
        _kind(decode_image_string, "data:image/png;base64," + PNG_B64, data_uri=False) is Kind.DATA_URI_HEADER
    )
    assert _kind(decode_image_string, "data:image/png,rawbytes") is Kind.BASE64_CHARS


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        # IPv6 spellings of an IPv4 address are judged by the address they carry (issue 10)
        ("64:ff9b::169.254.169.254", False),  # NAT64
        ("64:ff9b::8.8.8.8", True),
        ("64:ff9b:1::a9fe:a9fe", False),  # NAT64 local-use
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("2002:0808:0808::1", True),  # 6to4 of 8.8.8.8
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:0:127.0.0.1", False),  # IPv4-translated
        ("::ffff:0:10.0.0.1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo (its client is 192.0.2.45, documentation)
        ("fec0::1", False),  # site-local
    ],
)
def test_address_is_public(address: str, public: bool) -> None:
    assert address_is_public(ipaddress.ip_address(address)) is public


class NoNetwork(httpx.AsyncBaseTransport):
    """Fails the test if the fetcher ever tries to connect."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the fetcher connected to {request.url}")


def _fetch(url: str, transport: httpx.AsyncBaseTransport | None = None, **settings: object) -> bytes:
    async def go() -> bytes:
        fetcher = UrlFetcher(Settings(**settings), transport=transport)  # type: ignore[arg-type]
        try:
            return await fetcher.fetch(url)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def _fetch_kind(url: str, transport: httpx.AsyncBaseTransport | None = None, **settings: object) -> Kind:
    with pytest.raises(ApiError) as info:
        _fetch(url, transport, **settings)
    return info.value.kind


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/card.jpg",
        "http://127.1.2.3:8080/card.jpg",
        "http://10.0.0.1/card.jpg",
        "http://192.168.0.10/card.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::1]/card.jpg",
        "http://[::ffff:127.0.0.1]/card.jpg",
        "http://0.0.0.0/card.jpg",
        "http://localhost/card.jpg",
        "ftp://127.0.0.1/card.jpg",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_ssrf_refused_before_connecting(url: str) -> None:
    assert _fetch_kind(url, NoNetwork()) is Kind.URL_REFUSED


@pytest.mark.parametrize("url", [
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "http://[2002:a9fe:a9fe::1]/", "http://[::127.0.0.1]/",
    "http://[::ffff:0:127.0.0.1]/", "http://[fec0::1]/", "http://127.0.0.1./card.jpg",
])
def test_ipv6_spellings_and_trailing_dots_refused(url: str) -> None:
    assert _fetch_kind(url, NoNetwork()) is Kind.URL_REFUSED


def test_a_literal_address_with_a_trailing_dot_is_pinned_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("a DNS lookup for a literal address")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG)

    assert _fetch("http://127.0.0.1.:9/card.png", httpx.MockTransport(handler), url_allowlist=["127.0.0.1"]) == PNG
    assert seen[0].url.host == "127.0.0.1"  # connects to the address checked, not the dotted name


def test_public_address_fetched_and_pinned() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG)

    assert _fetch("http://93.184.216.34/card.png", httpx.MockTransport(handler)) == PNG
    assert (
        _fetch("https://localhost:8443/card.png", httpx.MockTransport(handler), url_allowlist=["localhost"])
        == PNG
    )
    pinned = seen[1]
    assert pinned.url.host == "127.0.0.1"
    assert pinned.headers["host"] == "localhost:8443"
    assert pinned.extensions["sni_hostname"] == "localhost"


def test_redirect_from_public_to_private_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "93.184.216.34":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        raise AssertionError("followed a redirect to a private address")

    assert _fetch_kind("http://93.184.216.34/card.png", httpx.MockTransport(handler)) is Kind.URL_REFUSED


def test_fetch_failures_without_network() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    assert _fetch_kind("http://93.184.216.34/a.png", httpx.MockTransport(timeout)) is Kind.URL_FETCH_FAILED
    big = httpx.MockTransport(lambda request: httpx.Response(200, content=PNG))
    assert _fetch_kind("http://93.184.216.34/a.png", big, fetch_max_bytes=100) is Kind.URL_FETCH_FAILED


def test_loopback_server_with_allowlist() -> None:
    routes = {
        "/card.png": (200, {"Content-Type": "image/png"}, PNG),
        "/relative": (302, {"Location": "/card.png"}, b""),
        "/to-private": (302, {"Location": "http://10.0.0.1/card.png"}, b""),
        "/to-metadata": (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/empty": (200, {}, b""),
    }
    allow = {"url_allowlist": ["127.0.0.1/32"]}
    with image_server(routes) as base:
        assert _fetch(f"{base}/card.png", **allow) == PNG
        assert _fetch(f"{base}/relative", **allow) == PNG
        assert _fetch_kind(f"{base}/to-private", **allow) is Kind.URL_REFUSED
        assert _fetch_kind(f"{base}/to-metadata", **allow) is Kind.URL_REFUSED
        assert _fetch_kind(f"{base}/loop", **allow) is Kind.URL_FETCH_FAILED
        assert _fetch_kind(f"{base}/missing", **allow) is Kind.URL_FETCH_FAILED
        assert _fetch_kind(f"{base}/empty", **allow) is Kind.URL_FETCH_FAILED
        assert _fetch_kind(f"{base}/card.png", **allow, fetch_max_bytes=100) is Kind.URL_FETCH_FAILED
        assert _fetch_kind(f"{base}/card.png") is Kind.URL_REFUSED  # not allowlisted
