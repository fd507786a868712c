"""Malformed requests for every route, a raw HTTP/1.1 client, and the check of each answer (issue 10, item 10).

Shared by the CI campaign (tests/server/test_server_fuzz.py, driven by hypothesis through ``random.Random``
draws it can shrink) and bench/fuzz.py (seeded, >= 100,000 requests). Every case is built from one
``random.Random``: a route of the app (path parameters filled in, sometimes bent), a method, a query string,
headers (content types with and without boundaries, auth headers, junk) and a body (JSON with wrongly typed
or nested values, forms, broken multipart, raw bytes) carrying images that are valid, truncated, corrupted
or lie about their size in their header. URLs in bodies are only literal addresses or ``localhost``: the
guard resolves nothing over the network, and public literals reach only the app's mock transport.

An answer passes when it is its route's documented answer: success, or one of the errors the API's own
``error_response`` gives for a problem other than an internal one (status and message; request ids and
timings aside); routes outside an API's paths answer below 500 (``/readyz``: 503 while starting).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import re
import socket
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Response
from PIL import Image

from idcard_ocr.decode import decode
from idcard_ocr.model import Field, Reading
from idcard_ocr.server.common import Ctx
from idcard_ocr.server.problems import ApiError, Kind
from idcard_ocr.server.vendors import ERROR_SHAPES, baidu

# ---------------------------------------------------------------- a fast reader: the real decoder, no OCR


def _box(i: int) -> list[tuple[float, float]]:
    return [(10.0, 10.0 + 30 * i), (200.0, 10.0 + 30 * i), (200.0, 35.0 + 30 * i), (10.0, 35.0 + 30 * i)]


_VALUES = {  # a made-up person: synthetic values only
    "name": "测试甲", "sex": "男", "nation": "汉", "birth": "1990-01-01", "address": "某省某市某路1号",
    "number": "11010119900101001X", "authority": "某市公安局", "valid_from": "2010-01-01", "valid_to": "2030-01-01",
}
_SIDES = {"front": ("name", "sex", "nation", "birth", "address", "number"),
          "back": ("authority", "valid_from", "valid_to")}


def decode_reader(image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
    """Decodes ``image`` with the library's own decoder (bounds, bombs and all), then answers a canned Reading
    whose side follows the image's bytes: front, back, both or none (so success and no-card answers occur)."""
    pixels = decode(image)
    shown = ("front", "back", "both", "none")[zlib.crc32(image) % 4]
    names = (_SIDES["front"] if shown in ("front", "both") else ()) + (
        _SIDES["back"] if shown in ("back", "both") else ())
    fields = {n: Field(value=_VALUES[n], confidence=0.9, box=_box(i)) for i, n in enumerate(names)}
    return Reading(side=shown, fields=fields, image_size=(int(pixels.shape[1]), int(pixels.shape[0])))


# ---------------------------------------------------------------- images


def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` (CRC fixed so the header itself is valid)."""
    data = bytearray(_encode(Image.new("RGB", (20, 20), (90, 90, 90)), "PNG"))
    ihdr = bytearray(data[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def _gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose logical screen claims ``width`` x ``height`` around a 40 px frame."""
    data = bytearray(_encode(Image.new("P", (40, 40)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("RGB", (32, 32), (120, 60, 30)), "JPEG"))
    at = data.find(b"\xff\xc0")
    if at > 0:
        data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@cache
def image_pool() -> tuple[bytes, ...]:
    """Images to send: valid ones of every format at sizes around the vendors' bounds, and liars."""
    rng = random.Random(10)
    out: list[bytes] = []
    for fmt in ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"):
        for w, h in ((1, 1), (14, 30), (15, 15), (64, 40), (400, 252), (rng.randint(16, 300), rng.randint(16, 300))):
            im = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
            out.append(_encode(im.convert("P") if fmt == "GIF" else im, fmt))
    out += [_png_claiming(100_000, 100_000), _png_claiming(8192, 8192), _png_claiming(0, 10),
            _gif_claiming(8000, 8000), _jpeg_claiming(60_000, 60_000), _jpeg_claiming(1, 65_000)]
    out += [b"\x89PNG\r\n\x1a\n" + bytes(40), b"\xff\xd8\xff\xe0" + bytes(30), b"GIF89a", b"BM" + bytes(60),
            b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00" + bytes(20), b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"%PDF-1.4\n", b"\x00", b"hello"]
    return tuple(out)


def image_bytes(rng: random.Random) -> bytes:
    blob = rng.choice(image_pool())
    roll = rng.random()
    if roll < 0.15 and len(blob) > 2:  # truncated
        return blob[: rng.randrange(1, len(blob))]
    if roll < 0.3 and blob:  # a few bytes flipped
        data = bytearray(blob)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if roll < 0.33:
        return rng.randbytes(rng.randint(0, 3000))
    return blob


# ---------------------------------------------------------------- URLs and the mock transport behind them

URLS = (
    "http://8.8.8.8/card.png", "https://1.1.1.1/card.jpg", "http://8.8.8.8/redirect-inside", "http://8.8.8.8/404",
    "http://8.8.8.8/huge", "http://8.8.8.8/empty", "http://8.8.8.8/loop", "http://8.8.8.8/garbage",
    "http://127.0.0.1/x.png", "http://127.0.0.1.:8080/", "http://localhost/x", "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/", "http://[64:ff9b::a9fe:a9fe]/", "http://[::ffff:127.0.0.1]/",
    "http://[2002:a9fe:a9fe::]/", "http://[fec0::1]/", "http://10.0.0.1/", "http://0.0.0.0/",
    "file:///etc/passwd", "ftp://8.8.8.8/x.png", "gopher://8.8.8.8/", "http://", "http:///x", "https://[::1",
    "http://8.8.8.8:99999/", "http://user:pw@8.8.8.8/card.png", "HTTP://8.8.8.8/CARD.PNG",
    "http://8.8.8.8/" + "a" * 3000, "data:image/png;base64,", "javascript:alert(1)",
)


def mock_transport() -> httpx.MockTransport:
    """What the public literal addresses in URLS answer: images, redirects inside, errors, liars."""
    png = image_pool()[4]

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.lower()
        if path.startswith("/card"):
            return httpx.Response(200, content=png)
        if path == "/redirect-inside":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})
        if path == "/loop":
            return httpx.Response(302, headers={"Location": "/loop"})
        if path == "/huge":
            return httpx.Response(200, headers={"Content-Length": str(10**12)}, content=b"")
        if path == "/empty":
            return httpx.Response(200, content=b"")
        if path == "/garbage":
            return httpx.Response(200, content=bytes(range(256)) * 4)
        return httpx.Response(404, content=b"not found")

    return httpx.MockTransport(handle)


# ---------------------------------------------------------------- requests

PARAMS_BY_API = {  # the parameters each API reads (chosen most of the time), by its path prefix
    "/v1/": ("image", "url", "side", "return_portrait", "return_card"),
    "/idcard": ("image",),
    "/faceid/": ("api_key", "api_secret", "image", "legality"),
    "/v1.0/ocr/": ("image", "url", "side"),
    "/v2/": ("image", "url", "side"),
    "/do": ("image", "id_card_side", "detect_direction", "detect_risk", "detect_photo", "detect_rectify"),
    "/api/predict/": ("info", "data"),
}
ALL_PARAMS = tuple(sorted({p for ps in PARAMS_BY_API.values() for p in ps} | {"configure", "image_base64"}))
SIDES = ("front", "back", "auto", "both", "FRONT", "", " front", "0", "null")
CONTENT_TYPES = (
    "application/json", "application/json; charset=utf-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ", "multipart/form-data", "multipart/form-data; boundary=",
    "multipart/form-data; boundary=\"a b\"", "text/plain", "application/octet-stream", "image/png",
    "application/json; charset=gbk", "*/*", "application/x-www-form-urlencoded; charset=latin-1", "",
)
METHODS = ("POST",) * 12 + ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "BREW")


@dataclass
class Case:
    method: str
    path: str  # with its query string
    headers: list[tuple[str, str]]
    body: bytes
    route: str  # the route template it aims at (for counting)
    raw_head: bytes | None = None  # a request head sent as is (bad framing)
    one_shot: bool = False  # its body is never sent in full: a connection of its own
    notes: list[str] = field(default_factory=list)

    def wire(self) -> bytes:
        """The request as bytes on the wire (HTTP/1.1, keep-alive)."""
        if self.raw_head is not None:
            return self.raw_head + self.body
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: fuzz"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in self.headers):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + self.body


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route in the app's OpenAPI, /docs and /openapi.json."""
    out = [(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops]
    return [*sorted(out), ("GET", "/docs"), ("GET", "/openapi.json")]


def _fill(template: str, rng: random.Random) -> str:
    def seg(_: re.Match[str]) -> str:
        return rng.choice(("idcard_ocr", "p1", "a/b/c", "x" * rng.randint(1, 300), "%2e%2e", "..", "%00", "ü"))
    return re.sub(r"\{[^}]+\}", seg, template)


def _junk_text(rng: random.Random) -> str:
    return rng.choice(("", " ", "null", "0", "-1", "1e999", "true", "\u0000", "é" * rng.randint(1, 50),
                       "%" * rng.randint(1, 20), "a" * rng.randint(1, 5000), "{}", "[]", "\r\n", "'\"<>"))


def _image_string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(URLS)
    if roll < 0.2:
        return _junk_text(rng)
    b64 = base64.b64encode(image_bytes(rng)).decode()
    roll = rng.random()
    if roll < 0.15:
        return "data:image/png;base64," + b64
    if roll < 0.22:
        return b64.rstrip("=")  # padding lost
    if roll < 0.28:
        return "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    if roll < 0.33:
        return b64.replace("+", "-").replace("/", "_")
    if roll < 0.38:
        return b64.replace("+", " ")  # what form encoding does to an unescaped '+'
    if roll < 0.42 and b64:
        at = rng.randrange(len(b64))
        return b64[:at] + rng.choice("!*.~é\x00") + b64[at:]
    return b64


def _json_value(rng: random.Random, name: str, depth: int = 0) -> Any:
    roll = rng.random()
    if name in ("image", "data", "url", "image_base64") and roll < 0.75:
        return _image_string(rng)
    if name in ("side", "id_card_side") and roll < 0.7:
        return rng.choice(SIDES)
    if roll < 0.35:
        return rng.choice(("true", "false", "1", "0", "yes"))
    if roll < 0.5:
        return rng.choice((True, False, None, 0, -1, 2**70, 1.5, float("1e308")))
    if roll < 0.6 and depth < 3:
        return [_json_value(rng, name, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.7 and depth < 3:
        return {rng.choice(ALL_PARAMS): _json_value(rng, name, depth + 1) for _ in range(rng.randint(0, 3))}
    return _junk_text(rng)


def _params(rng: random.Random, names: tuple[str, ...]) -> dict[str, Any]:
    chosen = [n for n in names if rng.random() < 0.8] + [rng.choice(ALL_PARAMS) for _ in range(rng.randint(0, 2))]
    return {n: _json_value(rng, n) for n in chosen}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _multipart(rng: random.Random, params: dict[str, Any], boundary: str) -> bytes:
    parts = []
    for name, value in params.items():
        if name in ("image", "data") and rng.random() < 0.6:
            filename = rng.choice(("a.png", "", "../../etc/passwd", "é.jpg", "a\"b.png"))
            head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n' \
                   f"Content-Type: {rng.choice(('image/png', 'application/octet-stream', ''))}\r\n"
            parts.append(head.encode("utf-8") + b"\r\n" + image_bytes(rng))
        else:
            parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() +
                         _as_text(value).encode("utf-8", "surrogatepass"))
    roll = rng.random()
    if roll < 0.1:
        parts.append(b"Content-Disposition: form-data\r\n\r\nnameless")
    elif roll < 0.15:
        parts.append(b"\r\n\r\nno headers")
    elif roll < 0.2:
        parts += [b'Content-Disposition: form-data; name="f%d"\r\n\r\nv' % i for i in range(70)]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    if rng.random() > 0.1:
        body += b"--" + boundary.encode() + b"--\r\n"  # else: never closed
    return body


def _body(rng: random.Random, params: dict[str, Any], content_type: str) -> bytes:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice((b"[" * rng.randint(1, 100_000), b'{"a":' * rng.randint(1, 50_000), b"{", b"null",
                           b"[]", b'"x"', b"1", b"\xff\xfe\x00", b'{"image": "\xff"}', b"{" + b" " * 5000))
    if roll < 0.08:
        return rng.randbytes(rng.randint(0, 5000))
    if roll < 0.1:
        return image_bytes(rng)  # a raw image as the body
    if "multipart" in content_type:
        match = re.search(r"boundary=\"?([^\";]*)", content_type)
        return _multipart(rng, params, match.group(1) if match and match.group(1) else "XyZ")
    if "urlencoded" in content_type or (not content_type and rng.random() < 0.5):
        from urllib.parse import urlencode
        pairs = [(k, _as_text(v)) for k, v in params.items()]
        text = urlencode(pairs) if rng.random() < 0.8 else "&".join(f"{k}={v}" for k, v in pairs)
        return text.encode("utf-8", "surrogatepass")
    return json.dumps(params, allow_nan=True).encode()


def _query(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ""
    pairs = [f"{rng.choice((*ALL_PARAMS, 'id', 'x'))}={rng.choice(('1', '', '%zz', '%00', 'a' * 200, 'é'))}"
             for _ in range(rng.randint(1, 4))]
    return "?" + "&".join(pairs)


def _auth_headers(rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for name, values in (("Authorization", ("APPCODE x", "Bearer k", "APPCODE", "Basic !!!", "", "é")),
                         ("X-Auth-Token", ("t", "")), ("X-API-Key", ("k",))):
        if rng.random() < 0.3:
            out.append((name, rng.choice(values)))
    return out


def _bad_framing(rng: random.Random, method: str, path: str) -> bytes:
    """A request head uvicorn itself has to refuse or survive."""
    return rng.choice((
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: -1\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 1x\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: gzip\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nX: {'a' * 20_000}\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nBad Header\r\n\r\n",
        f"{method} {path}\r\n\r\n",
        f"{method} {path} HTTP/2.0\r\nHost: fuzz\r\n\r\n",
        f"{method}  {path} HTTP/1.1\r\n\r\n",
        f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 99999999999999999999\r\n\r\n",
    )).encode("utf-8")


def make_case(rng: random.Random, routes: list[tuple[str, str]]) -> Case:
    posts = [r for r in routes if r[0] == "POST"]
    method, template = rng.choice(posts if posts and rng.random() < 0.8 else routes)
    path = _fill(template, rng)
    roll = rng.random()
    if roll < 0.04:
        path += "/"
    elif roll < 0.07:
        path += "/" + rng.choice(("x", "..", "%2f", "~"))
    elif roll < 0.08:
        path = "/" + path.lstrip("/")
    if method == "POST" and rng.random() < 0.15:
        method = rng.choice(METHODS)
    path += _query(rng)
    if rng.random() < 0.95:  # else a raw non-ASCII byte in the target, which uvicorn refuses itself
        path = quote(path, safe="/?&=%:~+")
    prefix = next((p for p in PARAMS_BY_API if template.startswith(p) or template == p.rstrip("/")), None)
    names = PARAMS_BY_API[prefix] if prefix and rng.random() < 0.85 else tuple(rng.sample(ALL_PARAMS, 3))
    content_type = rng.choice(CONTENT_TYPES)
    params = _params(rng, names)
    body = _body(rng, params, content_type) if method not in ("GET", "HEAD") or rng.random() < 0.1 else b""
    headers = [("Content-Type", content_type)] if content_type else []
    headers += _auth_headers(rng)
    if rng.random() < 0.1:
        headers.append(("X-Request-Id", rng.choice(("ok-1", "a" * 500, "é", "../x", ""))))
    if rng.random() < 0.05:
        headers.append(("Expect", "100-continue"))
    case = Case(method, path.replace(" ", "%20"), headers, body, template)
    roll = rng.random()
    if roll < 0.02:
        case.raw_head = _bad_framing(rng, method, case.path)
        case.body = b""
    elif roll < 0.03 and method == "POST":  # a body declared over the hard cap: refused from the headers
        case.headers.append(("Content-Length", str(rng.choice((17_000_000, 10**15)))))
        case.body, case.one_shot = b"", True
    return case


# ---------------------------------------------------------------- a raw HTTP/1.1 client


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after it


class Connection:
    """One keep-alive connection to the server under test; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _recv(self) -> bytes:
        assert self.sock is not None
        try:
            return self.sock.recv(1 << 16)
        except ConnectionResetError:
            return b""

    def _until(self, marker: bytes) -> bool:
        while marker not in self.buffer:
            chunk = self._recv()
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def _exactly(self, n: int) -> bytes | None:
        while len(self.buffer) < n:
            chunk = self._recv()
            if not chunk:
                return None
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, case: Case) -> Answer | None:
        """Send ``case``; its answer, or None when the server closed without one. A kept-alive connection the
        server had closed meanwhile (its keep-alive timeout) is retried once on a fresh one."""
        if case.raw_head is not None or case.one_shot:  # the connection is left unusable: one of its own
            self.close()
            answer = self._send_once(case)
            self.close()
            return answer
        reused = self.sock is not None
        answer = self._send_once(case)
        if answer is None and reused:
            answer = self._send_once(case)
        return answer

    def _send_once(self, case: Case) -> Answer | None:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.sock.sendall(case.wire())  # the server may have answered (and closed) before reading it all
        answer = self._read(case.method)
        if answer is None or answer.closed:
            self.close()
        return answer

    def _read(self, method: str) -> Answer | None:
        while True:
            if not self._until(b"\r\n\r\n"):
                return None
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
            if status != 100:
                break
        closed = headers.get("connection", "").lower() == "close"
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"])) or b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while self._until(b"\r\n"):
                size_line, self.buffer = self.buffer.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                chunk = self._exactly(size + 2) or b""
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            while chunk := self._recv():
                self.buffer += chunk
            body, self.buffer, closed = self.buffer, b"", True
        return Answer(status, headers, body, closed)


# ---------------------------------------------------------------- the check of an answer

_VOLATILE = {"request_id", "time_used", "log_id"}
_PARAM_TAIL = re.compile(r"(: ?|key: ?)[A-Za-z_][A-Za-z0-9_.]*$")


def _canonical(status: int, body: bytes) -> tuple[int, str]:
    """(status, body without request ids and timings, a parameter name at a message's end masked)."""
    text = body.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError:
        try:  # PAI-EAS answers base64 of its JSON
            value = json.loads(base64.b64decode(text, validate=True))
        except ValueError:
            return status, _PARAM_TAIL.sub(r"\1<p>", text)

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: "<p>" if k == "param" else clean(x) for k, x in sorted(v.items()) if k not in _VOLATILE}
        if isinstance(v, str):
            return _PARAM_TAIL.sub(r"\1<p>", v)
        return v

    if isinstance(value, dict) and isinstance(value.get("data"), str):  # PAI-EAS: data is a JSON string
        value = {**value, "data": "<data>"}
    return status, json.dumps(clean(value), ensure_ascii=False, sort_keys=True)


def _render(on_error: Callable[[ApiError, Ctx], Response], kind: Kind) -> tuple[int, str]:
    response = on_error(ApiError(kind, "p"), Ctx("r", 0.0))
    return _canonical(response.status_code, bytes(response.body))


# Answers an API documents beyond its error_response: Face++'s own 404 for a path it does not serve; Baidu's
# token endpoint's OAuth errors.
EXTRA_DOCUMENTED: dict[str, set[tuple[int, str]]] = {
    "/faceid/": {_canonical(404, b'{"error_message": "API_NOT_FOUND", "request_id": "r", "time_used": 0}')},
    "/oauth/2.0/": {_canonical(r.status_code, bytes(r.body)) for r in map(baidu.oauth_error, baidu.OAUTH_ERRORS)},
}


@cache
def documented_errors() -> dict[str, tuple[frozenset[tuple[int, str]], tuple[int, str]]]:
    """API path prefix -> (its error answers for every problem but an internal one, its internal answer)."""
    out = {}
    for prefix, on_error in ERROR_SHAPES:
        ok = {_render(on_error, k) for k in Kind if k is not Kind.INTERNAL} | EXTRA_DOCUMENTED.get(prefix, set())
        out[prefix] = (frozenset(ok), _render(on_error, Kind.INTERNAL))
    return out


def api_of(path: str) -> str | None:
    path = path.split("?", 1)[0]
    return next((base for base, _ in ERROR_SHAPES if path == base.rstrip("/") or path.startswith(
        base.rstrip("/") + "/")), None)


def problems(case: Case, answer: Answer | None) -> list[str]:
    """What is wrong with ``answer`` to ``case`` (empty when it is a documented answer)."""
    if answer is None:
        return [] if case.raw_head is not None else ["closed without an answer"]
    if case.raw_head is not None and answer.status < 500:  # uvicorn's own framing errors: any 4xx is right
        return []
    if answer.status == 400 and answer.body == b"Invalid HTTP request received.":
        return []  # uvicorn's refusal of a request line or header h11 cannot parse (a raw non-ASCII byte)
    text = answer.body.decode("utf-8", "replace")
    if answer.status != 200 and ("Traceback" in text or "Internal Server Error" in text):
        return [f"HTTP {answer.status}: internal error text"]
    api = api_of(case.path)
    if api is None:
        if answer.status >= 500 and not (case.path.startswith("/readyz") and answer.status == 503):
            return [f"HTTP {answer.status} outside an API"]
        return []
    documented, internal = documented_errors()[api]
    if case.method == "HEAD":  # no body to judge: a status the API documents
        if answer.status != 200 and answer.status not in {status for status, _ in documented}:
            return [f"{api}: undocumented status {answer.status} to HEAD"]
        return []
    if answer.status == 200 and case.method != "OPTIONS":
        return _success_problems(api, answer)
    got = _canonical(answer.status, answer.body)
    if got == internal:
        return [f"{api}: internal error answer"]
    if got not in documented and not (answer.status == 405 and case.method not in ("POST", "GET")):
        return [f"{api}: undocumented answer {got[0]} {got[1][:160]}"]
    return []


def _success_problems(api: str, answer: Answer) -> list[str]:
    try:
        value = json.loads(answer.body)
    except ValueError:
        try:
            value = json.loads(base64.b64decode(answer.body, validate=True))
        except ValueError:
            return [f"{api}: 200 with a body that is not JSON"]
    return [] if isinstance(value, dict) and value else [f"{api}: 200 with an empty answer"]


def log_problems(lines: Iterable[str]) -> list[str]:
    """Log lines that betray an internal error."""
    bad = ("Traceback", "internal error", "Exception in ASGI application", "returned without")
    return [line for line in lines if any(b in line for b in bad)]
