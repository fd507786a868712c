"""Speed: ours against the baseline on the same images in one run, then throughput over HTTP.

    .venv/bin/python -m bench.speed                 # everything (~10-15 min on 2 quiet cores)
    .venv/bin/python -m bench.speed --quick         # a few images per set, short HTTP runs (~3 min)
    .venv/bin/python -m bench.speed --sets r8,ext --no-http

Sets: our renderer's scenes as phone photos at 8 and 12 MP (tools/synth/phone.py), the 60 photos of
../shared/external/dev (another renderer, mostly 2-12 MP), and our renderer's 1.2 MP scenes. Each image is
read by ours (idcard_ocr.read on the file's bytes) and by the baseline (RapidOCR defaults + regexes,
bench/baseline.py, on the same bytes decoded), one after the other so both see the same load. Latency is
split into images where ours found a card and images where it found none. Accuracy (fields exact, cards
all correct, side) is printed beside it: speed bought with accuracy does not count.

HTTP: `idcard-ocr serve --workers N` on loopback, a bounded number of clients posting phone photos to
/v1/idcard (2 per worker), images/s over a fixed number of requests, and each worker's RSS after the load.

Prints markdown tables and writes bench/out/speed.json. Rendered phone photos are cached in
bench/out/speed_images/ (the same seeds give the same bytes).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from idcard_ocr.decode import decode
from idcard_ocr.engine import warm_up
from idcard_ocr.pipeline import read

from .baseline import baseline_read
from .external import DEFAULT_DIR
from .run import OUT, _pct

ROOT = Path(__file__).resolve().parents[1]
# Conditions a phone photo of a card plausibly meets (one with no card), cycled through.
PHONE_CONDITIONS = ["clean", "busy_background", "skew", "rot90", "perspective", "small", "glare", "shadow",
                    "neg_desk", "large", "rot270", "both_sides", "underexposed", "photocopy", "screen", "rot180"]
SETS = ("r8", "r12", "ext", "r1")


def _external_dir() -> Path:
    for d in (DEFAULT_DIR, ROOT.parent / "shared" / "external" / "dev", Path("/work/shared/external/dev")):
        if (d / "gt.jsonl").is_file():
            return d
    return DEFAULT_DIR


# ------------------------------------------------------------------------------------------------ images


def _rendered(kind: str, n: int, seed: int) -> list[dict[str, Any]]:
    """n rendered images as JPEG bytes with truth: kind r8 / r12 (phone size) or r1 (the 1.2 MP scenes)."""
    import cv2

    from tools.synth import CONDITIONS, make_sample
    from tools.synth.phone import phone_size

    conds = CONDITIONS if kind == "r1" else PHONE_CONDITIONS
    cache = OUT / "speed_images" / f"{kind}_{seed}"
    cache.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        cond = conds[i % len(conds)]
        s_seed = seed * 100_003 + i
        path = cache / f"{i:03d}_{cond}.jpg"
        meta = path.with_suffix(".json")
        if not (path.is_file() and meta.is_file()):
            s = make_sample(s_seed, cond)
            if kind != "r1":
                s = phone_size(s, 8 if kind == "r8" else 12, seed=s_seed)
            ok, buf = cv2.imencode(".jpg", s.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            path.write_bytes(buf.tobytes())
            meta.write_text(json.dumps({"side": s.truth.side, "fields": s.truth.fields}, ensure_ascii=False))
        truth = json.loads(meta.read_text())
        items.append({"file": path.name, "condition": cond, "data": path.read_bytes(), "kind": truth["side"],
                      "fields": truth["fields"]})
    return items


def _external(n: int | None) -> list[dict[str, Any]]:
    d = _external_dir()
    gt = [json.loads(line) for line in (d / "gt.jsonl").read_text().splitlines() if line.strip()]
    if n is not None:
        gt = gt[:: max(1, len(gt) // n)][:n]  # spread over the conditions
    return [{"file": g["file"], "condition": g["condition"], "data": (d / g["file"]).read_bytes(),
             "kind": g["kind"], "fields": g["fields"]} for g in gt]


# ------------------------------------------------------------------------------------------------ latency


def _score(item: dict[str, Any], side: str, fields: dict[str, str]) -> dict[str, Any]:
    truth: dict[str, str] = item["fields"]
    per_field = [fields.get(k) == v for k, v in truth.items()]
    extra = [k for k in fields if k not in truth]
    return {"side_ok": side == item["kind"], "fields_ok": sum(per_field), "fields_n": len(per_field),
            "all_ok": side == item["kind"] and all(per_field) and not extra, "read": side != "none",
            "negative": item["kind"] == "none"}


def _run_set(items: list[dict[str, Any]], eng: Any, base_ocr: Any) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    for it in items:
        t = time.perf_counter()
        r = read(it["data"], engine=eng)
        ms = (time.perf_counter() - t) * 1000
        row = _score(it, r.side, {k: f.value for k, f in r.fields.items()})
        rows["ours"].append({**row, "ms": ms, "file": it["file"], "stages": r.timings_ms})
        if base_ocr is not None:
            t = time.perf_counter()
            b = baseline_read(base_ocr, decode(it["data"]))  # the baseline decodes the same bytes, full size
            ms = (time.perf_counter() - t) * 1000
            rows["baseline"].append({**_score(it, b["side"], b["fields"]), "ms": ms, "file": it["file"]})
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ms = [r["ms"] for r in rows]
    pos = [r for r in rows if not r["negative"]]
    fields_n = sum(r["fields_n"] for r in rows)
    return {
        "images": len(rows),
        "p50_ms": _pct(ms, 0.5), "p90_ms": _pct(ms, 0.9), "p99_ms": _pct(ms, 0.99),
        "read_p50_ms": _pct([r["ms"] for r in rows if r["read"]], 0.5),
        "unread_p50_ms": _pct([r["ms"] for r in rows if not r["read"]], 0.5),
        "unread": sum(not r["read"] for r in rows),
        "field_exact": sum(r["fields_ok"] for r in rows) / fields_n if fields_n else float("nan"),
        "card_all_correct": sum(r["all_ok"] for r in pos) / len(pos) if pos else float("nan"),
        "side_accuracy": sum(r["side_ok"] for r in rows) / len(rows) if rows else float("nan"),
    }


# ------------------------------------------------------------------------------------------------ HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    kids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(p.name))
    return kids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers_rss(server_pid: int) -> list[float]:
    """RSS of each uvicorn worker (children of the server that are Python, not the multiprocessing helper)."""
    pids = [p for p in _children(server_pid) if _rss_mb(p) > 100] or [server_pid]
    return [round(_rss_mb(p), 1) for p in pids]


def _http(workers: int, bodies: list[bytes], requests: int, timeout: float = 600.0,
          threads: int | None = None) -> dict[str, Any]:
    """images/s of `workers` server processes under 2 clients per worker (bounded: each waits its answer);
    ``threads`` caps each worker's inference threads (default: serve shares the cores among its workers)."""
    import httpx

    port = _free_port()
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "IDCARD_OCR_QUEUE_SIZE": "64"}
    env.pop("IDCARD_OCR_THREADS", None)  # serve shares the cores among its workers
    if threads:
        env["IDCARD_OCR_THREADS"] = str(threads)
    proc = subprocess.Popen([sys.executable, "-m", "idcard_ocr.cli", "serve", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        with httpx.Client(timeout=timeout) as c:
            ready = 0
            while ready < 3 * workers:  # several ready answers in a row: every worker warmed
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    raise RuntimeError("server did not start: " + (proc.stderr.read() or b"").decode()[-2000:])
                try:
                    ok = c.get(url + "/readyz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                ready = ready + 1 if ok else 0
                time.sleep(0.2 if ok else 0.5)
            runtime = c.get(url + "/readyz").json().get("runtime")
        started_s = time.perf_counter() - t0
        clients = 2 * workers
        lock = threading.Lock()
        state = {"next": -clients, "ok": 0, "errors": 0}  # the first round (one per client) warms, untimed
        lat: list[float] = []
        t_start: list[float] = []

        def client() -> None:
            with httpx.Client(timeout=timeout) as c:
                while True:
                    with lock:
                        i = state["next"]
                        state["next"] += 1
                        if i == 0:
                            t_start.append(time.perf_counter())
                            cpu_start.update(_cpu_now())
                    if i >= requests:
                        return
                    t = time.perf_counter()
                    r = c.post(url + "/v1/idcard", content=bodies[i % len(bodies)],
                               headers={"Content-Type": "application/json"})
                    with lock:
                        if i >= 0:
                            state["ok" if r.status_code == 200 else "errors"] += 1
                            lat.append((time.perf_counter() - t) * 1000)

        pids = [p for p in _children(proc.pid) if _rss_mb(p) > 100] or [proc.pid]  # the workers

        def _cpu_now() -> dict[str, float]:
            return {"client": time.process_time(), **{str(p): _cpu_s(p) for p in [proc.pid, *pids]}}

        cpu_start: dict[str, float] = {}
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - (t_start[0] if t_start else time.perf_counter())
        cpu_end = _cpu_now()
        used = {k: cpu_end[k] - cpu_start.get(k, cpu_end[k]) for k in cpu_end}
        rss = _workers_rss(proc.pid)
        cap = env.get("IDCARD_OCR_THREADS")
        n = max(state["ok"] + state["errors"], 1)
        server_s = sum(v for k, v in used.items() if k != "client")
        return {"workers": workers, "threads": cap, "clients": clients, "requests": requests,
                "ok": state["ok"], "errors": state["errors"], "seconds": round(wall, 2),
                "images_per_s": state["ok"] / wall, "p50_ms": _pct(lat, 0.5), "p99_ms": _pct(lat, 0.99),
                "rss_mb_per_worker": rss, "startup_s": round(started_s, 1), "runtime": runtime,
                # CPU per request during the timed part: the load generator (this process) and the server's
                # processes; with the cores' share of the wall time they show where the 2 cores went
                "client_cpu_ms_per_req": round(1000 * used["client"] / n, 1),
                "server_cpu_ms_per_req": round(1000 * server_s / n, 1),
                "cores_busy": round((used["client"] + server_s) / wall, 2) if wall else float("nan")}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of r8,r12,ext,r1")
    ap.add_argument("--n", type=int, default=16, help="rendered images per phone-size set")
    ap.add_argument("--n-small", type=int, default=24, help="rendered 1.2 MP images")
    ap.add_argument("--n-ext", type=int, default=None, help="external photos (default: all 60)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--http-workers", default="1x1,1,2",
                    help="server set-ups: W (serve's own thread share) or WxT (T inference threads per worker)")
    ap.add_argument("--http-requests", type=int, default=24, help="timed requests per HTTP run")
    ap.add_argument("--quick", action="store_true", help="4 images per set, 12 external, 8 HTTP requests")
    ap.add_argument("--out", type=Path, default=OUT / "speed.json")
    ap.add_argument("--keep-runtime-choice", action="store_true",
                    help="use the cached runtime choice instead of measuring it afresh in this run")
    args = ap.parse_args(argv)
    if not args.keep_runtime_choice:
        # The runtime and threads are chosen by timing at first start (idcard_ocr.runtime): a choice cached while
        # the machine was busy says little, so this run (and the servers it starts) measure afresh.
        import tempfile

        os.environ["IDCARD_OCR_CACHE_DIR"] = tempfile.mkdtemp(prefix="idcard-ocr-runtime-")
    if args.quick:
        args.n, args.n_small, args.n_ext, args.http_requests = 4, 6, 12, 8
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    bad = [s for s in sets if s not in SETS]
    if bad:
        ap.error(f"unknown set(s): {bad}; known: {', '.join(SETS)}")

    t_all = time.perf_counter()
    eng = warm_up()
    base_ocr = None
    if not args.no_baseline:
        from rapidocr import RapidOCR

        base_ocr = RapidOCR(params={"Global.log_level": "error"})
        base_ocr(decode(_rendered("r1", 1, args.seed)[0]["data"]))  # warm
    report: dict[str, Any] = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "load_avg_at_start": os.getloadavg()},
        "runtime": {"backend": eng.backend, "threads": eng.threads,
                    "reason": c.reason if (c := getattr(eng, "choice", None)) else "set by the caller"},
        "sets": {},
    }
    read(_rendered("r8", 1, args.seed)[0]["data"], engine=eng)  # the first phone-size read allocates
    for name in sets:
        items = (_rendered(name, args.n, args.seed) if name in ("r8", "r12")
                 else _rendered("r1", args.n_small, args.seed) if name == "r1" else _external(args.n_ext))
        print(f"{name}: {len(items)} images ...", file=sys.stderr, flush=True)
        rows = _run_set(items, eng, base_ocr)
        report["sets"][name] = {s: _summary(r) for s, r in rows.items() if r}
        report["sets"][name]["rows"] = rows
    if not args.no_http:
        phone = _rendered("r8", args.n, args.seed)
        bodies = [json.dumps({"image": base64.b64encode(it["data"]).decode()}).encode() for it in phone]
        report["http"] = []
        for spec in [x.strip() for x in args.http_workers.split(",") if x.strip()]:
            w, _, t = spec.partition("x")
            print(f"http --workers {spec} ...", file=sys.stderr, flush=True)
            report["http"].append(_http(int(w), bodies, args.http_requests, threads=int(t) if t else None))
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - t_all, 1)
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\nwrote {args.out} ({report['seconds']:.0f} s)")


LABELS = {"r8": "renderer, 8 MP", "r12": "renderer, 12 MP", "ext": "external dev (60 photos, 0.3-12 MP)",
          "r1": "renderer, 1.2 MP"}


def _ms(x: float) -> str:
    return "–" if x != x else f"{x:,.0f}"


def _pc(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f} %"


def _print(report: dict[str, Any]) -> None:
    rt = report["runtime"]
    print(f"runtime: {rt['backend']}, {rt['threads']} thread(s) ({rt['reason']})")
    m = report["machine"]
    print(f"load average at start {m['load_avg_at_start']}, at end {m['load_avg_at_end']}")
    print("\n| set | images | ours p50 / p90 / p99 ms | baseline p50 / p90 / p99 ms | p50 speed-up | "
          "ours read / unread p50 ms (unread n) | fields exact ours / base | cards all correct ours / base |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in report["sets"].items():
        o, b = s["ours"], s.get("baseline")
        ratio = f"{b['p50_ms'] / o['p50_ms']:.2f}×" if b else "–"
        base = f"{_ms(b['p50_ms'])} / {_ms(b['p90_ms'])} / {_ms(b['p99_ms'])}" if b else "–"
        print(f"| {LABELS[name]} | {o['images']} | {_ms(o['p50_ms'])} / {_ms(o['p90_ms'])} / {_ms(o['p99_ms'])} | "
              f"{base} | {ratio} | {_ms(o['read_p50_ms'])} / {_ms(o['unread_p50_ms'])} ({o['unread']}) | "
              f"{_pc(o['field_exact'])} / {_pc(b['field_exact']) if b else '–'} | "
              f"{_pc(o['card_all_correct'])} / {_pc(b['card_all_correct']) if b else '–'} |")
    if report.get("http"):
        print("\n| HTTP, 8 MP photos | clients | images/s | p50 / p99 ms | RSS per worker MB | errors | "
              "CPU ms per request: server / load generator | cores busy |")
        print("|---|---|---|---|---|---|---|---|")
        for h in report["http"]:
            setup = f"--workers {h['workers']}" + (f", {h['threads']} thread(s) each" if h.get("threads") else "")
            rss = ", ".join(f"{x:.0f}" for x in h["rss_mb_per_worker"])
            print(f"| {setup} | {h['clients']} | {h['images_per_s']:.2f} | "
                  f"{_ms(h['p50_ms'])} / {_ms(h['p99_ms'])} | {rss} | "
                  f"{h['errors']} | {_ms(h['server_cpu_ms_per_req'])} / {_ms(h['client_cpu_ms_per_req'])} | "
                  f"{h['cores_busy']:.2f} |")
        last = report["http"][-1]
        for h in report["http"][:-1]:
            if h["images_per_s"]:
                print(f"\n--workers {last['workers']} against --workers {h['workers']}"
                      f"{' at ' + str(h['threads']) + ' thread(s)' if h.get('threads') else ''}: "
                      f"{last['images_per_s'] / h['images_per_s']:.2f}×")


if __name__ == "__main__":
    main()
