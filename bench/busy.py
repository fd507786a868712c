"""How fast a full worker says "busy", from the request's first byte to the answer's last (issue 10, item 2).

    .venv/bin/python -m bench.busy --n 300

One uvicorn worker (guarded protocol, the app's real middleware) whose queue is held full by reads that wait;
then ``--n`` requests per API, each declaring a 10 MB body: half send only their headers, half send the body
too (the answer must come before it is read). Prints the time to the whole busy answer (p50, p99, max) and the
Retry-After values seen.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections import Counter

import uvicorn

from idcard_ocr.model import Reading
from idcard_ocr.server import Settings, create_app
from idcard_ocr.server.limits import GuardedH11Protocol

ROUTES = ("/v1/idcard", "/idcard/ocr", "/faceid/v1/ocridcard", "/v1.0/ocr/id-card", "/do", "/api/predict/x")


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    gate = threading.Event()
    calls = []

    def waiting_read(image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.4)  # one read of known length first: Retry-After has a service time to go by
        else:
            gate.wait(600)
        return Reading(side="none", image_size=(1, 1))

    app = create_app(Settings(warm_up=False, queue_size=4), read_fn=waiting_read)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=GuardedH11Protocol,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    holders = []
    png = b"\x89PNG" + bytes(100)
    import base64
    import json

    body = json.dumps({"image": base64.b64encode(png).decode()}).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/idcard HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        _answer(sock)
    for _ in range(app.state.runner.capacity):  # fill the queue with reads that wait
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /v1/idcard HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        holders.append(sock)
    while app.state.runner.pending < app.state.runner.capacity:
        time.sleep(0.01)
    big = b"A" * 10_000_000
    times: dict[str, list[float]] = {"headers only": [], "with the body": []}
    retry_after: Counter[str] = Counter()
    for i in range(args.n):
        route = ROUTES[i % len(ROUTES)]
        mode = "headers only" if i % 2 == 0 else "with the body"
        head = (f"POST {route} HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(big)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            started = time.perf_counter()
            sock.sendall(head)
            if mode == "with the body":
                sender = threading.Thread(target=lambda s=sock: _send_quietly(s, big), daemon=True)
                sender.start()
            answer = _answer(sock)
            times[mode].append(time.perf_counter() - started)
        for line in answer.split(b"\r\n"):
            if line.lower().startswith(b"retry-after:"):
                retry_after[line.split(b":")[1].strip().decode()] += 1
    gate.set()
    for sock in holders:
        sock.close()
    server.should_exit = True
    for mode, xs in times.items():
        xs.sort()
        print(f"{mode}: n={len(xs)} p50 {xs[len(xs) // 2] * 1000:.1f} ms, p99 {xs[int(len(xs) * 0.99)] * 1000:.1f} ms, "
              f"max {xs[-1] * 1000:.1f} ms")
    print("Retry-After seen:", dict(retry_after), f"(queue {app.state.runner.capacity} x "
          f"{app.state.runner.service_seconds:.2f} s recent read time)")


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


if __name__ == "__main__":
    main()
