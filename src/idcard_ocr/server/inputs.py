"""Getting the image out of a request: capped bodies, JSON/form parameters, base64, data URIs and URLs.

URL input is fetched with httpx under a guard against server-side request forgery: http/https only;
every address the host resolves to must be public (loopback, private, link-local, shared, reserved and
multicast ranges -- cloud metadata addresses among them -- are refused unless allowlisted); the connection is
pinned to the address that was checked; redirects are followed by hand and each hop is checked again; the
download is bounded in time and size. A fetch runs under its request's place in the admission queue and
reserves FETCH_MAX_BYTES of the worker's body budget, so slow fetches cannot pile up outside the queue.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException  # what Request.form() raises (FastAPI's is a subclass)
from starlette.formparsers import MultiPartException
from starlette.types import Message

from idcard_ocr.server.config import Settings
from idcard_ocr.server.problems import ApiError, Kind
from idcard_ocr.server.runner import Busy, current_ticket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_URL = re.compile(r"^https?://", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_REDIRECTS = {301, 302, 303, 307, 308}


# ---- request bodies ----


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with BODY_TOO_LARGE as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(Kind.BODY_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(Kind.BODY_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def is_json(request: Request, body: bytes) -> bool:
    return "json" in request.headers.get("content-type", "").lower() or body.lstrip()[:1] in (b"{", b"[")


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(Kind.BAD_BODY, detail="invalid JSON") from exc
    except RecursionError as exc:  # '[' * 100000: nesting no request of ours needs
        raise ApiError(Kind.BAD_BODY, detail="JSON nested too deeply") from exc
    if not isinstance(value, dict):
        raise ApiError(Kind.BAD_BODY, detail="JSON body is not an object")
    return value


@dataclass
class Params:
    """Request parameters: text values, plus uploaded files' bytes (multipart only)."""

    values: dict[str, Any]
    files: dict[str, bytes]


async def read_params(request: Request, limit: int) -> Params:
    """Parameters from a JSON object, a urlencoded form or a multipart form, whichever the request holds."""
    return await params_of(request, await read_body(request, limit))


async def params_of(request: Request, body: bytes) -> Params:
    """read_params for a body already read (signed requests are checked on the bytes first)."""
    if is_json(request, body):
        return Params(parse_json_object(body), {})
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:  # the body is already within its limit, so no part can be larger than it
        form = await Request(request.scope, replay).form(max_files=8, max_fields=64, max_part_size=len(body) + 1)
    except (HTTPException, MultiPartException) as exc:
        raise ApiError(Kind.BAD_BODY, detail="malformed form") from exc
    values: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(key, await value.read())
            else:
                values.setdefault(key, value)
    finally:
        await form.close()
    return Params(values, files)


# ---- strings that carry an image ----


def is_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))


def has_data_uri_header(text: str) -> bool:
    return text.lstrip()[:5].lower() == "data:"


def decode_base64(text: str) -> bytes:
    """Strict standard or URL-safe base64; whitespace ignored; '+' turned to ' ' by form encoding repaired."""
    s = text.strip()
    if not s:
        raise ApiError(Kind.EMPTY_IMAGE)
    if " " in s and "+" not in s:
        s = s.replace(" ", "+")
    s = "".join(s.split())
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    if not _B64.fullmatch(s):
        raise ApiError(Kind.BASE64_CHARS)
    if len(s) % 4:
        raise ApiError(Kind.BASE64_PADDING)
    try:
        data = base64.b64decode(s, validate=True)
    except binascii.Error as exc:
        raise ApiError(Kind.BASE64_CHARS) from exc
    if not data:
        raise ApiError(Kind.EMPTY_IMAGE)
    return data


def decode_image_string(text: str, *, data_uri: bool = True) -> bytes:
    """Bytes of a base64 string or (when ``data_uri``) a ``data:...;base64,`` URI."""
    if has_data_uri_header(text):
        if not data_uri:
            raise ApiError(Kind.DATA_URI_HEADER)
        match = _DATA_URI.match(text.lstrip())
        if not match:
            raise ApiError(Kind.BASE64_CHARS, detail="data URI is not base64")
        text = text.lstrip()[match.end() :]
    return decode_base64(text)


async def image_from_string(request: Request, text: Any, *, urls: bool = True, data_uri: bool = True) -> bytes:
    """An image given as base64, data URI or (when ``urls``) an http(s) URL to fetch."""
    if not isinstance(text, str):
        raise ApiError(Kind.BAD_TYPE, "image")
    if urls and is_url(text):
        fetcher: UrlFetcher = request.app.state.fetcher
        return await fetcher.fetch(text.strip())
    return decode_image_string(text, data_uri=data_uri)


# ---- URL fetching ----


# IPv6 ranges that carry an IPv4 address in their last 32 bits: judged by that address.
_EMBEDS_V4 = tuple(ipaddress.IPv6Network(n) for n in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "::/96",  # IPv4-compatible (deprecated, still routed by some stacks)
    "64:ff9b::/96",  # NAT64 well-known prefix
    "64:ff9b:1::/48",  # NAT64 local-use prefix
))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: mapped, compatible, NAT64, 6to4, Teredo (both ends)."""
    out = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)] if any(ip in n for n in _EMBEDS_V4) else []
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    return out


def address_is_public(ip: IPAddress) -> bool:
    """A public unicast address; an IPv6 address that embeds an IPv4 one is judged by what it embeds."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:  # fec0::/10: deprecated, yet routed inside some networks
            return False
        inner = embedded_ipv4(ip)
        if inner:
            return all(address_is_public(v4) for v4 in inner)
    return ip.is_global and not ip.is_multicast


class UrlFetcher:
    """Fetches one image by URL under the SSRF guard described in the module docstring."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._max_bytes = settings.fetch_max_bytes
        self._max_redirects = settings.fetch_max_redirects
        self._total_timeout = settings.fetch_total_timeout
        self._allowed_nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._allowed_hosts: set[str] = set()
        for entry in settings.url_allowlist:
            try:
                self._allowed_nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._allowed_hosts.add(entry.lower().rstrip("."))
        timeout = httpx.Timeout(
            connect=settings.fetch_connect_timeout,
            read=settings.fetch_read_timeout,
            write=settings.fetch_read_timeout,
            pool=settings.fetch_connect_timeout,
        )
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _address_allowed(self, ip: IPAddress) -> bool:
        return address_is_public(ip) or any(ip in net for net in self._allowed_nets)

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ApiError(Kind.URL_FETCH_FAILED, detail="host not resolved") from exc
        return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """Check ``url`` and return it pointed at a vetted address, with Host and SNI kept."""
        if url.scheme not in ("http", "https") or not url.host:
            raise ApiError(Kind.URL_REFUSED, detail="scheme")
        host = url.host.lower().rstrip(".")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self._resolve(host, port)
        if not addresses:
            raise ApiError(Kind.URL_FETCH_FAILED, detail="host not resolved")
        if host not in self._allowed_hosts and not all(self._address_allowed(ip) for ip in addresses):
            raise ApiError(Kind.URL_REFUSED, detail="address")
        ip = addresses[0]
        if str(ip) == host:  # a literal address ("127.0.0.1." included): connect to it as checked, no lookup
            return (url if url.host == host else url.copy_with(host=host)), {}, {}
        extensions: dict[str, Any] = {"sni_hostname": host} if url.scheme == "https" else {}
        return url.copy_with(host=str(ip)), {"Host": url.netloc.decode("ascii")}, extensions

    async def fetch(self, url: str) -> bytes:
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ApiError(Kind.URL_REFUSED, detail="malformed URL") from exc
        ticket = current_ticket.get()
        if ticket is not None:
            # the fetch runs under the request's place in the queue; its download counts against the body budget
            try:
                ticket.reserve(self._max_bytes)
            except Busy as exc:
                raise ApiError(Kind.BUSY) from exc
        try:
            with anyio.fail_after(self._total_timeout):
                for _hop in range(self._max_redirects + 1):
                    target, headers, extensions = await self._pinned(current)
                    request = self._client.build_request("GET", target, headers=headers, extensions=extensions)
                    response = await self._client.send(request, stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            current = current.join(location)
                            continue
                        return await self._body(response)
                    finally:
                        await response.aclose()
        except TimeoutError as exc:
            raise ApiError(Kind.URL_FETCH_FAILED, detail="timeout") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ApiError(Kind.URL_FETCH_FAILED, detail=type(exc).__name__) from exc
        raise ApiError(Kind.URL_FETCH_FAILED, detail="too many redirects")

    async def _body(self, response: httpx.Response) -> bytes:
        if response.status_code != 200:
            raise ApiError(Kind.URL_FETCH_FAILED, detail=f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise ApiError(Kind.URL_FETCH_FAILED, detail="image too large")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self._max_bytes:
                raise ApiError(Kind.URL_FETCH_FAILED, detail="image too large")
        if not data:
            raise ApiError(Kind.URL_FETCH_FAILED, detail="empty body")
        return bytes(data)
