"""Write a set of synthetic card images plus truth.jsonl.

    python -m tools.synth --out DIR --n 50 --seed 1 [--conditions clean,rot90] [--format png] [--layout varied]
        [--phone 12]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2

from . import CONDITIONS, EXTRA_CONDITIONS, LAYOUTS, VARIANTS, make_sample
from .phone import phone_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    known = CONDITIONS + EXTRA_CONDITIONS + VARIANTS
    ap.add_argument("--conditions", default="", help=f"comma-separated subset of: {','.join(known)}")
    ap.add_argument("--format", choices=("jpg", "png"), default="jpg")
    ap.add_argument("--quality", type=int, default=95, help="JPEG quality of the written files")
    ap.add_argument("--layout", choices=LAYOUTS, default="plain", help="card layout: standard or varied")
    ap.add_argument("--phone", type=int, choices=(8, 12), help="phone-size photos: the scene at 8 or 12 MP")
    args = ap.parse_args(argv)
    conds = [c.strip() for c in args.conditions.split(",") if c.strip()] or list(CONDITIONS)
    bad = [c for c in conds if c not in known]
    if bad:
        ap.error(f"unknown condition(s): {', '.join(bad)}")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with (args.out / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(args.n):
            cond = conds[i % len(conds)]
            # Same per-image seeds as make_set(seed, n, conditions).
            s = make_sample(args.seed * 100_003 + i, cond, layout=args.layout)
            if args.phone:
                s = phone_size(s, args.phone, seed=args.seed * 100_003 + i)
            name = f"{i:04d}_{cond}.{args.format}"
            params = [cv2.IMWRITE_JPEG_QUALITY, args.quality] if args.format == "jpg" else []
            cv2.imwrite(str(args.out / name), s.image, params)
            fh.write(json.dumps({"file": name, "condition": cond, **s.truth.to_json()}, ensure_ascii=False) + "\n")
    dt = time.perf_counter() - t0
    print(f"wrote {args.n} images to {args.out} in {dt:.1f} s ({1000 * dt / max(1, args.n):.0f} ms each)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
