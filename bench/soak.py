"""Soak: 10,000 mixed requests to one live worker with the real reader, its RSS sampled, every answer checked.

    .venv/bin/python -m bench.soak --n 10000 --card-share 0.015
    IDCARD_OCR_TUNE_MEMORY=false .venv/bin/python -m bench.soak ...   # the same without the malloc settings

The mix: rendered cards (tools/synth, synthetic identities) in each API's own request format (``--card-share``),
large bodies (``--large-share``: 6-15 MB of base64 that is no image, to /v1/idcard), and malformed requests from
bench/fuzzcases.py for the rest. Every answer must be its API's documented one; card answers are counted by
status. The requests go in rounds of ``--sample``; RSS is read from /proc in the middle of each round (busy) and
after it, once the clients have paused (at rest); the report gives both series' range and spread around their
mean, and writes bench/out/soak.json.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from bench.fuzz import OUT, Server, rss_kb
from bench.fuzzcases import Case, Connection, make_case, problems, routes_of

REST_S = 1.0  # the pause before an at-rest sample (the worker trims its heap when its queue empties)


def serve(port: int) -> None:
    import uvicorn

    from bench.fuzzcases import mock_transport
    from idcard_ocr.server import create_app
    from idcard_ocr.server.config import load_settings
    from idcard_ocr.server.limits import GuardedH11Protocol

    settings = load_settings().model_copy(update={"queue_size": 16})
    app = create_app(settings, fetch_transport=mock_transport())
    uvicorn.run(app, host="127.0.0.1", port=port, http=GuardedH11Protocol, log_level="info", access_log=False)


def card_images(n: int) -> list[tuple[str, bytes]]:
    from PIL import Image

    from tools.synth import make_set

    out = []
    for sample in make_set(20261130, n):
        buf = io.BytesIO()
        Image.fromarray(sample.image[:, :, ::-1]).save(buf, "JPEG", quality=90)
        out.append((sample.truth.side if hasattr(sample, "truth") else "?", buf.getvalue()))
    return out


def card_case(rng: random.Random, image: bytes) -> Case:
    """A well-formed request for ``image`` to one of the APIs, in its own format."""
    b64 = base64.b64encode(image).decode()
    route = rng.choice(("/v1/idcard", "/idcard/ocr", "/faceid/v1/ocridcard", "/v1.0/ocr/id-card", "/do",
                        "/api/predict/idcard_ocr"))
    json_type = [("Content-Type", "application/json")]
    if route == "/faceid/v1/ocridcard":
        body = (b'--B\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nk\r\n'
                b'--B\r\nContent-Disposition: form-data; name="api_secret"\r\n\r\ns\r\n'
                b'--B\r\nContent-Disposition: form-data; name="image"; filename="c.jpg"\r\n\r\n' + image +
                b"\r\n--B--\r\n")
        return Case("POST", route, [("Content-Type", "multipart/form-data; boundary=B")], body, route)
    if route == "/api/predict/idcard_ocr":
        from urllib.parse import urlencode

        body = urlencode({"info": "x", "data": b64}).encode()
        return Case("POST", route, [("Content-Type", "application/x-www-form-urlencoded")], body, route)
    if route == "/do":
        return Case("POST", route, json_type, json.dumps({"image": b64, "id_card_side": "front"}).encode(), route)
    return Case("POST", route, json_type, json.dumps({"image": b64}).encode(), route)


def large_case(rng: random.Random) -> Case:
    size = rng.randint(4_500_000, 11_000_000)  # bytes before base64: 6-15 MB bodies
    body = b'{"image": "' + base64.b64encode(rng.randbytes(size)) + b'"}'
    return Case("POST", "/v1/idcard", [("Content-Type", "application/json")], body, "/v1/idcard (large)")


def run(n: int, seed: int, card_share: float, large_share: float, sample_every: int, threads: int) -> dict[str, Any]:
    OUT.mkdir(exist_ok=True)
    cards = card_images(24)
    tuned = os.environ.get("IDCARD_OCR_TUNE_MEMORY", "true")
    server = Server("real", OUT / f"soak-server-tune_memory-{tuned}.log", module="bench.soak")
    from idcard_ocr.server import Settings, create_app

    routes = routes_of(create_app(Settings(warm_up=False)))
    samples: list[tuple[int, int]] = [(0, rss_kb(server.proc.pid)["VmRSS"])]
    at_rest: list[tuple[int, int]] = [(0, samples[0][1])]
    anon: list[tuple[int, int]] = [(0, rss_kb(server.proc.pid)["RssAnon"])]  # the process's own heap, no file pages
    counts: Counter[tuple[str, str]] = Counter()
    found: list[dict[str, Any]] = []
    lock = threading.Lock()
    done = 0
    started = time.monotonic()

    def worker(cases: Iterator[int]) -> None:
        nonlocal done
        conn = Connection("127.0.0.1", server.port, timeout=300)
        while True:
            with lock:
                i = next(cases, None)
            if i is None:
                break
            rng = random.Random(seed + i)
            roll = rng.random()
            if roll < card_share:
                kind, case = "card", card_case(rng, rng.choice(cards)[1])
            elif roll < card_share + large_share:
                kind, case = "large", large_case(rng)
            else:
                kind, case = "malformed", make_case(rng, routes)
            try:
                answer = conn.send(case)
                bad = problems(case, answer)
            except OSError as exc:
                answer, bad = None, [f"client error {type(exc).__name__}"]
            with lock:
                done += 1
                counts[(kind, str(answer.status if answer else None))] += 1
                if bad:
                    counts[("PROBLEM", "")] += 1
                    if len(found) < 30:
                        found.append({"seed": seed + i, "kind": kind, "problems": bad, "path": case.path[:120]})
                if done % sample_every == sample_every // 2:  # mid-round: the clients are all busy
                    samples.append((done, rss_kb(server.proc.pid)["VmRSS"]))
        conn.close()

    # Rounds of ``sample_every`` requests; after each the clients pause and RSS is read again at rest (what a
    # request leaves behind, without the requests in flight), so growth is told from load.
    for first in range(0, n, sample_every):
        cases = iter(range(first, min(n, first + sample_every)))
        pool = [threading.Thread(target=worker, args=(cases,)) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        time.sleep(REST_S)
        mem = rss_kb(server.proc.pid)
        at_rest.append((done, mem["VmRSS"]))
        anon.append((done, mem["RssAnon"]))
        if done % 1000 < sample_every:
            print(f"  {done} answered, {time.monotonic() - started:.0f} s, RSS busy {samples[-1][1] // 1024} MB, "
                  f"at rest {at_rest[-1][1] // 1024} MB", flush=True)
    elapsed = time.monotonic() - started
    final = rss_kb(server.proc.pid)
    logs = server.stop()
    from bench.fuzzcases import log_problems

    return {"n": n, "seconds": round(elapsed, 1), "tune_memory": tuned,
            "counts": counts, "problems": found, "log_problems": log_problems(logs)[:20],
            "rss_samples_kb": samples, "rss_at_rest_kb": at_rest, "anon_at_rest_kb": anon, "peak_kb": final["VmHWM"]}


def _spread(series: list[tuple[int, int]], since: int) -> str:
    kb = [v for i, v in series if i >= since]
    mean = sum(kb) / len(kb)
    return (f"{min(kb) / 1024:.0f}-{max(kb) / 1024:.0f} MB, mean {mean / 1024:.0f} "
            f"({(min(kb) - mean) / mean:+.1%} / {(max(kb) - mean) / mean:+.1%}, {len(kb)} samples)")


def report(result: dict[str, Any]) -> str:
    busy, rest = result["rss_samples_kb"], result["rss_at_rest_kb"]
    warm = rest[0][1]
    mb = lambda kb: f"{kb / 1024:.0f} MB"  # noqa: E731
    by_kind: dict[str, Counter[str]] = {}
    for (kind, status), v in result["counts"].items():
        by_kind.setdefault(kind, Counter())[status] += v
    lines = [f"{result['n']} requests in {result['seconds']} s (tune_memory={result['tune_memory']}); "
             f"problems {by_kind.get('PROBLEM', Counter()).total()}; log lines with a traceback: "
             f"{len(result['log_problems'])}",
             f"RSS after warm-up {mb(warm)}; at rest after each round, from the first round: {_spread(rest, 1)}; "
             f"from 1,000: {_spread(rest, 1000)}; end {mb(rest[-1][1])}",
             f"of which anonymous (heap, no mapped files) at rest: warm-up {mb(result['anon_at_rest_kb'][0][1])}, "
             f"then {_spread(result['anon_at_rest_kb'], 1)}",
             f"RSS busy (mid-round): {_spread(busy, 1)}; peak (VmHWM) {mb(result['peak_kb'])}"]
    for kind in ("card", "large", "malformed"):
        statuses = ", ".join(f"{s}: {c}" for s, c in sorted(by_kind.get(kind, Counter()).items()))
        lines.append(f"{kind}: {statuses}")
    for p in result["problems"][:10]:
        lines.append(f"PROBLEM {p}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--card-share", type=float, default=0.03)
    ap.add_argument("--large-share", type=float, default=0.05)
    ap.add_argument("--sample", type=int, default=250)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reader", default="real", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    result = run(args.n, args.seed, args.card_share, args.large_share, args.sample, args.threads)
    text = report(result)
    print(text)
    result["counts"] = [[*k, v] for k, v in sorted(result["counts"].items())]
    name = "soak" if result["tune_memory"] != "false" else "soak-untuned"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1))
    (OUT / f"{name}.md").write_text(text + "\n")
    sys.exit(1 if result["problems"] or result["log_problems"] else 0)


if __name__ == "__main__":
    main()
