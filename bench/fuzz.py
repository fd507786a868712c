"""Fuzz every route of live servers with >= 100,000 malformed requests and count the answers (issue 10).

    .venv/bin/python -m bench.fuzz --n 100000 --real-share 0.01

Two uvicorn servers on loopback, each in its own process with the guarded protocol and the app's real
middleware: one whose reader runs the library's decoder but no OCR (most cases), one with the real reader
(``--real-share`` of the cases). Cases come from bench/fuzzcases.py (seeded: case i is seed ``--seed + i``).
Every answer is checked against its API's documented errors, and the servers' logs for tracebacks. Prints
counts by route and status, problems found, RSS of each server, and writes bench/out/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.fuzzcases import Connection, log_problems, make_case, problems, routes_of

OUT = Path(__file__).resolve().parent / "out"


def serve(port: int, reader: str) -> None:
    """The server process: the app with the chosen reader, URL fetches answered by the mock transport."""
    import uvicorn

    from bench.fuzzcases import decode_reader, mock_transport
    from idcard_ocr.server import Settings, create_app
    from idcard_ocr.server.app import default_read
    from idcard_ocr.server.limits import GuardedH11Protocol

    app = create_app(Settings(warm_up=reader == "real", queue_size=16),
                     read_fn=default_read if reader == "real" else decode_reader, fetch_transport=mock_transport())
    uvicorn.run(app, host="127.0.0.1", port=port, http=GuardedH11Protocol, log_level="info", access_log=False,
                timeout_keep_alive=5)


def rss_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


class Server:
    def __init__(self, reader: str, log: Path, module: str = "bench.fuzz") -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = log
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, "-m", module, "--serve", str(self.port), "--reader", reader]
        self.proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 180
        while b"Uvicorn running" not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> list[str]:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.log.read_text(errors="replace").splitlines()


def run(n: int, seed: int, real_share: float, threads: int) -> dict[str, Any]:
    OUT.mkdir(exist_ok=True)
    fast, real = Server("decode", OUT / "fuzz-decode.log"), Server("real", OUT / "fuzz-real.log")
    from bench.fuzzcases import decode_reader
    from idcard_ocr.server import Settings, create_app

    routes = routes_of(create_app(Settings(warm_up=False), read_fn=decode_reader))
    counts: Counter[tuple[str, str, int | None]] = Counter()
    found: list[dict[str, Any]] = []
    lock = threading.Lock()
    next_case = iter(range(n))
    started = time.monotonic()

    def worker() -> None:
        conns = {"decode": Connection("127.0.0.1", fast.port), "real": Connection("127.0.0.1", real.port)}
        while True:
            with lock:
                i = next(next_case, None)
            if i is None:
                break
            rng = random.Random(seed + i)
            which = "real" if rng.random() < real_share else "decode"
            case = make_case(rng, routes)
            try:
                answer = conns[which].send(case)
            except OSError as exc:
                answer = None
                conns[which].close()
                bad = [f"client error {type(exc).__name__}"]
            else:
                bad = problems(case, answer)
            with lock:
                counts[(which, case.route, answer.status if answer else None)] += 1
                if bad and len(found) < 50:
                    found.append({"seed": seed + i, "reader": which, "problems": bad, "method": case.method,
                                  "path": case.path[:200], "body": case.body[:200].decode("latin-1")})
                if bad:
                    counts[(which, "PROBLEM", 0)] += 1
            if i and i % 10_000 == 0:
                print(f"  {i} sent, {time.monotonic() - started:.0f} s", flush=True)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    rss = {"decode": rss_kb(fast.proc.pid), "real": rss_kb(real.proc.pid)}
    logs = {"decode": fast.stop(), "real": real.stop()}
    log_bad = {k: log_problems(v) for k, v in logs.items()}
    return {"n": n, "seed": seed, "seconds": round(elapsed, 1), "counts": counts, "problems": found,
            "log_problems": {k: v[:20] for k, v in log_bad.items()}, "log_problem_count":
            {k: len(v) for k, v in log_bad.items()}, "rss_kb": rss}


def report(result: dict[str, Any]) -> str:
    counts: Counter[tuple[str, str, int | None]] = result["counts"]
    problem_count = sum(v for (_, route, _), v in counts.items() if route == "PROBLEM")
    by_reader = Counter({r: 0 for r in ("decode", "real")})
    by_route: dict[str, Counter[str]] = {}
    for (reader, route, status), v in counts.items():
        if route == "PROBLEM":
            continue
        by_reader[reader] += v
        by_route.setdefault(route, Counter())[str(status)] += v
    lines = [f"{result['n']} requests in {result['seconds']} s; real reader {by_reader['real']}, "
             f"decoder only {by_reader['decode']}; problems {problem_count}; "
             f"log lines with a traceback/internal error: {result['log_problem_count']}",
             f"server RSS (kB): {result['rss_kb']}", "", "| route | answers by status |", "|---|---|"]
    for route in sorted(by_route):
        statuses = ", ".join(f"{s}: {c}" for s, c in sorted(by_route[route].items()))
        lines.append(f"| `{route}` | {statuses} |")
    for p in result["problems"][:10]:
        lines.append(f"PROBLEM {p}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--real-share", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reader", default="decode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.reader)
        return
    result = run(args.n, args.seed, args.real_share, args.threads)
    text = report(result)
    print(text)
    result["counts"] = [[*k, v] for k, v in sorted(result["counts"].items(), key=str)]
    (OUT / "fuzz.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (OUT / "fuzz.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
