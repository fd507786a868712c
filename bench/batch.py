"""Throughput of `idcard-ocr batch`, locally and on a local Ray, against `read --workers 2`, on the same images.

    PYTHONPATH=. .venv/bin/python -m bench.batch --n 200 --workers 2

Each run is the command as a user types it (a fresh process: model loading, pool or Ray start-up and shut-down
are in its time). Ray's overhead is then split: a Ray started in this process, timed apart from the run on it,
with the time to the first row, the steady rate (rows 10 % to 90 %) and the CPU Ray's own processes used (Linux);
the same for the process pool in this process, for comparison. Prints tables and writes bench/out/batch.json.
The images come from our renderer (synthetic identities only).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2

from idcard_ocr.batch import flat_row, list_images
from tools.synth import make_set

OUT = Path(__file__).resolve().parent / "out"
CLI = [sys.executable, "-m", "idcard_ocr.cli"]


def _render(n: int, seed: int, folder: Path) -> float:
    t = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i, s in enumerate(make_set(seed, n)):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), s.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return time.perf_counter() - t


def _timed(args: list[str], stdout: Path | None = None) -> float:
    """Wall seconds of the command; it must end with 0 (every image read) or 1 (some not: still a finished run)."""
    t = time.perf_counter()
    with open(stdout or os.devnull, "w") as out:
        res = subprocess.run([*CLI, *args], stdout=out, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if res.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return wall


def _values(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["file"]: {k: v for k, v in r.items() if k != "time_ms"} for r in rows}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]


class RayCpu:
    """CPU seconds used by this process and the processes it started (Ray's: GCS, raylet, agents, workers), sampled
    from /proc while a run goes on; other Ray clusters on the machine are not counted.

    An actor's process is gone when its dataset ends, so its last sample counts. Linux only (else: None).
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if Path("/proc/self/stat").exists() else 0
        self.start = self._sample()
        self.last = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self) -> dict[int, tuple[str, float]]:
        procs: dict[int, tuple[int, str, float]] = {}  # pid: parent, command, CPU s
        if not self.tick:
            return {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                stat = (d / "stat").read_text()
            except OSError:
                continue
            f = stat[stat.rfind(")") + 2:].split()
            procs[int(d.name)] = (int(f[1]), cmd, (int(f[11]) + int(f[12])) / self.tick)  # ppid, utime + stime
        me, out = os.getpid(), {}
        for pid, (_, cmd, cpu) in procs.items():
            p, seen = pid, 0
            while p not in (me, 0, 1) and p in procs and seen < 64:  # up the tree: is it one of ours?
                p, seen = procs[p][0], seen + 1
            if p == me:
                out[pid] = (cmd, cpu)
        return out

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.last.update(self._sample())

    def stop(self) -> dict[str, float] | None:
        self._stop.set()
        self._thread.join()
        self.last.update(self._sample())
        if not self.tick:
            return None
        used = {"actors": 0.0, "driver": 0.0, "ray": 0.0}
        for pid, (cmd, cpu) in self.last.items():
            d = cpu - self.start.get(pid, (cmd, 0.0))[1]
            kind = "driver" if pid == os.getpid() else "actors" if "MapWorker" in cmd else "ray"
            used[kind] += d
        return used


def _timed_rows(batches: Iterable[list[dict[str, Any]]], out: Path) -> tuple[float, list[float]]:
    """Write the rows to out (JSONL); the wall seconds and when each row came, from the start."""
    t = time.perf_counter()
    arrived: list[float] = []
    with open(out, "w", encoding="utf-8") as f:
        for rows in batches:
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            arrived += [time.perf_counter() - t] * len(rows)
    return time.perf_counter() - t, arrived


def _steady(arrived: list[float]) -> float:
    """Rows per second between the 10 % and the 90 % row: neither start-up nor the last tasks."""
    n = len(arrived)
    lo, hi = n // 10, (9 * n) // 10
    return (hi - lo) / max(arrived[hi - 1] - arrived[lo], 1e-9) if hi - 1 > lo else float("nan")


def _choose_runtime(workers: int) -> None:
    """The runtime choice the workers will use (idcard_ocr.runtime: timed once per thread cap, then cached), made
    before any timed run: a first start measures it, 15-20 s that would fall inside the first run timed."""
    from idcard_ocr.runtime import choose, threads_per_worker

    env = os.environ.get("IDCARD_OCR_THREADS")
    os.environ["IDCARD_OCR_THREADS"] = str(threads_per_worker(workers))  # as the CLI sets it
    try:
        choose()
    finally:
        if env is None:
            os.environ.pop("IDCARD_OCR_THREADS", None)
        else:
            os.environ["IDCARD_OCR_THREADS"] = env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--workers", type=int, default=2, help="processes for read and batch, CPUs for Ray")
    ap.add_argument("--no-split", action="store_true", help="skip the in-process Ray run that splits the overhead")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    work = OUT / "batch_work"
    images = work / "images"
    render_s = _render(args.n, args.seed, images)
    print(f"rendered {args.n} images in {render_s:.1f} s", file=sys.stderr)
    w = str(args.workers)
    _choose_runtime(args.workers)

    walls: dict[str, float] = {}
    walls["read --workers"] = _timed(["read", str(images), "--workers", w], work / "read.jsonl")
    for name in ("local", "ray"):
        (work / f"{name}.jsonl").unlink(missing_ok=True)  # a batch output resumes: start each from nothing
    walls["batch (local pool)"] = _timed(["batch", str(images), str(work / "local.jsonl"), "--workers", w])
    walls["batch --ray local"] = _timed(["batch", str(images), str(work / "ray.jsonl"), "--ray", "local",
                                         "--workers", w])

    split: dict[str, float] = {}
    steady: dict[str, dict[str, float]] = {}
    ray_cpu: dict[str, float] | None = None
    if not args.no_split:
        import ray

        from idcard_ocr.batch.local import read_local
        from idcard_ocr.batch.onray import read_on_ray

        files = list_images(images)
        # The pool in this process, for the same measures.
        wall, arrived = _timed_rows(([flat_row(r)] for r in read_local(files, args.workers)), work / "pool.jsonl")
        steady["process pool"] = {"wall_s": wall, "first_row_s": arrived[0], "steady_img_s": _steady(arrived)}

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        meter = RayCpu()
        t = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                 logging_level=logging.WARNING)
        split["ray.init"] = time.perf_counter() - t
        # ray is initialized here: read_on_ray uses it as it is (no start, no shutdown)
        wall, arrived = _timed_rows(read_on_ray(files, "local", args.workers), work / "split.jsonl")
        split["run on a started Ray (actor start-up included)"] = wall
        steady["Ray (started)"] = {"wall_s": wall, "first_row_s": arrived[0], "steady_img_s": _steady(arrived)}
        t = time.perf_counter()
        ray.shutdown()
        split["ray.shutdown"] = time.perf_counter() - t
        ray_cpu = meter.stop()

    # Same answers everywhere (read prints no row for an image it cannot read: compare the rows it has).
    want = _values([flat_row(r) for r in _jsonl(work / "read.jsonl")])
    same = {}
    for name in ("local", "ray", *(() if args.no_split else ("pool", "split"))):
        got = _values(_jsonl(work / f"{name}.jsonl"))
        same[name] = len(got) == args.n and all(got.get(f) == v for f, v in want.items())

    base = walls["read --workers"]
    cpu = platform.processor() or platform.machine()
    print(f"\n{args.n} images, {args.workers} workers, {os.cpu_count()} CPUs ({cpu})\n")
    print("| run | wall s | images/s | vs read --workers |")
    print("|---|---|---|---|")
    for name, wall in walls.items():
        print(f"| {name} | {wall:.1f} | {args.n / wall:.2f} | {(wall / base - 1) * 100:+.1f} % |")
    if split:
        print("\nRay's overhead, split (in this process):\n")
        print("| step | s |")
        print("|---|---|")
        for name, s in split.items():
            print(f"| {name} | {s:.1f} |")
        print("\nIn this process: time to the first row, steady rate (rows 10 % to 90 %):\n")
        print("| run | wall s | first row s | steady images/s |")
        print("|---|---|---|---|")
        for name, m in steady.items():
            print(f"| {name} | {m['wall_s']:.1f} | {m['first_row_s']:.1f} | {m['steady_img_s']:.2f} |")
        pool, onray = steady["process pool"], steady["Ray (started)"]
        print(f"\nsteady rate on Ray vs the pool: {(onray['steady_img_s'] / pool['steady_img_s'] - 1) * 100:+.1f} %")
        if ray_cpu is not None:
            print(f"CPU s during ray.init + run + shutdown: actors {ray_cpu['actors']:.1f}, Ray's own processes "
                  f"{ray_cpu['ray']:.1f}, this process {ray_cpu['driver']:.1f}")
    print(f"\nsame rows as read: {same}")
    result = {
        "n": args.n, "seed": args.seed, "workers": args.workers, "cpus": os.cpu_count(), "render_s": round(render_s, 1),
        "wall_s": {k: round(v, 2) for k, v in walls.items()},
        "images_per_s": {k: round(args.n / v, 3) for k, v in walls.items()},
        "ray_split_s": {k: round(v, 2) for k, v in split.items()},
        "in_process": {k: {m: round(v, 3) for m, v in d.items()} for k, d in steady.items()},
        "ray_cpu_s": None if ray_cpu is None else {k: round(v, 1) for k, v in ray_cpu.items()},
        "ray_overhead_pct": round((walls["batch --ray local"] / base - 1) * 100, 1),
        "same_rows_as_read": same,
        "load_average_at_end": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (OUT / "batch.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT / 'batch.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
