"""Throughput of `idcard-ocr batch`, locally and on a local Ray, against `read --workers 2`, on the same images.

    PYTHONPATH=. .venv/bin/python -m bench.batch --n 200 --workers 2

Each run is the command as a user types it (a fresh process: model loading, pool or Ray start-up and shut-down
are in its time). Ray's overhead is then split: a Ray started in this process, timed apart from the run on it.
Prints a table and writes bench/out/batch.json. The images come from our renderer (synthetic identities only).
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
import time
from pathlib import Path
from typing import Any

import cv2

from idcard_ocr.batch import flat_row, run
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

    walls: dict[str, float] = {}
    walls["read --workers"] = _timed(["read", str(images), "--workers", w], work / "read.jsonl")
    for name in ("local", "ray", "split"):
        (work / f"{name}.jsonl").unlink(missing_ok=True)  # a batch output resumes: start each from nothing
    walls["batch (local pool)"] = _timed(["batch", str(images), str(work / "local.jsonl"), "--workers", w])
    walls["batch --ray local"] = _timed(["batch", str(images), str(work / "ray.jsonl"), "--ray", "local",
                                         "--workers", w])

    split: dict[str, float] = {}
    if not args.no_split:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        t = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                 logging_level=logging.WARNING)
        split["ray.init"] = time.perf_counter() - t
        t = time.perf_counter()
        run(images, work / "split.jsonl", ray="local", workers=args.workers)
        split["run on a started Ray (actor start-up included)"] = time.perf_counter() - t
        t = time.perf_counter()
        ray.shutdown()
        split["ray.shutdown"] = time.perf_counter() - t

    # Same answers everywhere (read prints no row for an image it cannot read: compare the rows it has).
    want = _values([flat_row(r) for r in _jsonl(work / "read.jsonl")])
    same = {}
    for name in ("local", "ray", *(() if args.no_split else ("split",))):
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
        run_s = split["run on a started Ray (actor start-up included)"]
        print(f"\nthroughput on a running Ray: {args.n / run_s:.2f} images/s ({(run_s / base - 1) * 100:+.1f} % "
              "time vs read --workers)")
    print(f"\nsame rows as read: {same}")
    result = {
        "n": args.n, "seed": args.seed, "workers": args.workers, "cpus": os.cpu_count(), "render_s": round(render_s, 1),
        "wall_s": {k: round(v, 2) for k, v in walls.items()},
        "images_per_s": {k: round(args.n / v, 3) for k, v in walls.items()},
        "ray_split_s": {k: round(v, 2) for k, v in split.items()},
        "ray_overhead_pct": round((walls["batch --ray local"] / base - 1) * 100, 1),
        "same_rows_as_read": same,
        "load_average_at_end": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (OUT / "batch.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT / 'batch.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
