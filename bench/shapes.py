"""Bucketed model input shapes (engine.py) against rapidocr's own, on the same images in one process.

    PYTHONPATH=src .venv/bin/python -m bench.shapes [--n-ext 60] [--n-rendered 40]

Two engines: one padding its model inputs to the fixed buckets (the default), one feeding the runtime rapidocr's
shapes as they come. Each image is read by both, in alternating order; the report gives, for each, field and
card accuracy on the external photos (../shared/external/dev) and rendered cards (tools/synth, bench.run's
conditions), how many readings differ between the two, p50/mean read time and their ratio, and the distinct
input shapes each model saw. Writes bench/out/shapes.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from idcard_ocr.engine import Engine, warm_up_engine
from idcard_ocr.pipeline import read
from tools.synth import CONDITIONS, make_set

from .external import DEFAULT_DIR, _score
from .run import OUT
from .run import _score as _score_rendered


class _Spy:
    """Counts the input shapes a runtime session is given."""

    def __init__(self, session: Any, seen: Counter[tuple[int, ...]]) -> None:
        self.session, self.seen = session, seen

    def __call__(self, x: Any) -> Any:
        self.seen[tuple(x.shape)] += 1
        return self.session(x)


def _spy(eng: Engine) -> dict[str, Counter[tuple[int, ...]]]:
    """Spies on the runtime sessions themselves (inside the padding wrappers when bucketed)."""
    shapes: dict[str, Counter[tuple[int, ...]]] = {}
    for name, stage in (("det", eng._det), ("cls", eng._cls), ("rec", eng._rec)):
        shapes[name] = Counter()
        holder = stage.session if eng.bucketed and name != "cls" else stage
        holder.session = _Spy(holder.session, shapes[name])
    return shapes


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.shapes", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--n-ext", type=int, default=60)
    ap.add_argument("--n-rendered", type=int, default=40)
    ap.add_argument("--seed", type=int, default=20261126)
    args = ap.parse_args()
    engines = {"bucketed": warm_up_engine(Engine()), "rapidocr": warm_up_engine(Engine(bucketed=False))}
    shapes = {k: _spy(e) for k, e in engines.items()}
    gt = [json.loads(line) for line in (args.dir / "gt.jsonl").read_text().splitlines() if line.strip()]
    items: list[tuple[str, Any, Any]] = [("external", args.dir / g["file"], g) for g in gt[: args.n_ext]]
    if args.n_rendered:
        items += [("rendered", s.image, s.truth) for s in make_set(args.seed, args.n_rendered, list(CONDITIONS))]
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in engines}
    differ = Counter[str]()
    for i, (kind, image, truth) in enumerate(items):
        got = {}
        for name in (list(engines) if i % 2 else list(engines)[::-1]):
            t = time.perf_counter()
            r = read(image, engine=engines[name])
            ms = (time.perf_counter() - t) * 1000
            fields = {k: f.value for k, f in r.fields.items()}
            got[name] = (r.side, fields)
            score = _score(truth, r.side, fields) if kind == "external" else _score_rendered(truth, r.side, fields)
            rows[name].append({**score, "ms": ms, "set": kind})
        differ[kind] += got["bucketed"] != got["rapidocr"]
    report: dict[str, Any] = {"images": dict(Counter(k for k, _, _ in items)), "readings_differ": dict(differ)}
    for name, rs in rows.items():
        one: dict[str, Any] = {}
        for kind in ("external", "rendered"):
            sub = [r for r in rs if r["set"] == kind]
            flds = [ok for r in sub for ok in r["fields"].values()]
            pos = [r for r in sub if not r["negative"]]
            if sub:
                one[kind] = {"field_exact": round(sum(flds) / max(1, len(flds)), 4),
                             "card_all_correct": round(sum(r["all_ok"] for r in pos) / max(1, len(pos)), 4)}
        ms = [r["ms"] for r in rs]
        one |= {"p50_ms": round(statistics.median(ms)), "mean_ms": round(statistics.mean(ms)),
                "shapes": {k: len(v) for k, v in shapes[name].items()}}
        report[name] = one
    b, r = rows["bucketed"], rows["rapidocr"]
    report["p50_ratio"] = round(statistics.median(x["ms"] for x in b) / statistics.median(x["ms"] for x in r), 3)
    report["mean_ratio"] = round(sum(x["ms"] for x in b) / sum(x["ms"] for x in r), 3)
    print(json.dumps(report, indent=1))
    OUT.mkdir(exist_ok=True)
    (OUT / "shapes.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
