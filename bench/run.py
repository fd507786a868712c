"""Accuracy and speed of idcard-ocr against the baseline, on the same rendered images, in one run.

    .venv/bin/python -m bench.run --n 300 --seed 20261126

Prints markdown tables (overall, per field, per condition) and writes bench/out/results.json.
The images come from our renderer (tools/synth) from a fixed seed: synthetic identities only.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from idcard_ocr.engine import get_engine, warm_up
from idcard_ocr.model import FIELD_NAMES
from idcard_ocr.pipeline import read
from tools.synth import CONDITIONS, LAYOUTS, make_set

from .baseline import baseline_read

OUT = Path(__file__).resolve().parent / "out"


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _score(truth: Any, side: str, fields: dict[str, str]) -> dict[str, Any]:
    tf: dict[str, str] = truth.fields
    per_field = {k: fields.get(k) == v for k, v in tf.items()}
    extra = [k for k in fields if k not in tf]
    return {
        "side_ok": side == truth.side,
        "fields": per_field,
        "extra": extra,
        "all_ok": side == truth.side and all(per_field.values()) and not extra,
        "negative": truth.side == "none",
    }


def _summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    fld: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        for k, ok in r["fields"].items():
            fld[k].append(ok)
    all_fields = [ok for v in fld.values() for ok in v]
    pos = [r for r in rows if not r["negative"]]
    neg = [r for r in rows if r["negative"]]
    lat = [r["ms"] for r in rows]
    return {
        "images": len(rows),
        "field_exact": sum(all_fields) / len(all_fields) if all_fields else float("nan"),
        "per_field": {k: sum(v) / len(v) for k, v in sorted(fld.items(), key=lambda kv: FIELD_NAMES.index(kv[0]))},
        "card_all_correct": sum(r["all_ok"] for r in pos) / len(pos) if pos else float("nan"),
        "side_accuracy": sum(r["side_ok"] for r in rows) / len(rows) if rows else float("nan"),
        "negatives_rejected": sum(r["all_ok"] for r in neg) / len(neg) if neg else float("nan"),
        "p50_ms": _pct(lat, 0.5),
        "p90_ms": _pct(lat, 0.9),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--conditions", default="", help="comma-separated subset of conditions")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help="renderer layouts, each a set of the same identities and captures (plain, varied)")
    args = ap.parse_args()
    conditions = [c for c in args.conditions.split(",") if c] or list(CONDITIONS)
    layouts = [x for x in args.layouts.split(",") if x]
    headline: dict[str, dict[str, Any]] = {}
    for layout in layouts:
        print(f"\n## layout: {layout}\n")
        headline[layout] = _run_set(args, conditions, layout)
    if len(layouts) > 1:
        keys = ("field_exact", "card_all_correct", "side_accuracy", "negatives_rejected", "p50_ms", "p90_ms")
        systems = list(next(iter(headline.values())))
        print("\n## layouts side by side\n")
        print("| metric | " + " | ".join(f"{s} {x}" for s in systems for x in layouts) + " |")
        print("|---|" + "---|" * (len(systems) * len(layouts)))
        for k in keys:
            print(f"| {k} | " + " | ".join(_f(headline[x][s][k], not k.endswith("_ms"))
                                           for s in systems for x in layouts) + " |")


def _run_set(args: argparse.Namespace, conditions: list[str], layout: str) -> dict[str, Any]:
    t = time.perf_counter()
    samples = make_set(args.seed, args.n, conditions, layout=layout)
    render_s = time.perf_counter() - t
    eng = warm_up()
    from rapidocr import RapidOCR

    base_ocr = None if args.no_baseline else RapidOCR(params={"Global.log_level": "error"})
    if base_ocr is not None:
        base_ocr(samples[0].image)  # warm the baseline's models too

    results: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    for i, s in enumerate(samples):
        t = time.perf_counter()
        r = read(s.image, engine=eng)
        ms = (time.perf_counter() - t) * 1000
        row = _score(s.truth, r.side, {k: f.value for k, f in r.fields.items()})
        row.update(ms=ms, condition=s.condition, index=i)
        results["ours"].append(row)
        if base_ocr is not None:
            t = time.perf_counter()
            b = baseline_read(base_ocr, s.image)
            ms = (time.perf_counter() - t) * 1000
            row = _score(s.truth, b["side"], b["fields"])
            row.update(ms=ms, condition=s.condition, index=i)
            results["baseline"].append(row)

    systems = [k for k, v in results.items() if v]
    summary = {k: _summarize(results[k]) for k in systems}
    by_cond = {
        k: {c: _summarize([r for r in results[k] if r["condition"] == c]) for c in conditions} for k in systems
    }
    _print(summary, by_cond, systems, conditions)
    OUT.mkdir(exist_ok=True)
    out = {
        "seed": args.seed, "n": args.n, "layout": layout, "render_s": round(render_s, 1),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "engine_threads": get_engine().ocr.cfg.EngineConfig.onnxruntime.intra_op_num_threads,
        "summary": summary, "by_condition": by_cond,
        "failures": [
            {"index": r["index"], "condition": r["condition"], "side_ok": r["side_ok"],
             "wrong": [k for k, ok in r["fields"].items() if not ok], "extra": r["extra"]}
            for r in results["ours"] if not r["all_ok"]
        ],
    }
    # (a subset of conditions writes beside the full sets' files, not over them)
    subset = "_" + "-".join(conditions) if args.conditions else ""
    name = f"results{subset}.json" if layout == "plain" else f"results_{layout}{subset}.json"
    (OUT / name).write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"\nwrote {OUT / name}")
    return summary


def _f(x: float, pct: bool = True) -> str:
    if x != x:  # nan
        return "–"
    return f"{100 * x:.1f} %" if pct else f"{x:.0f}"


def _print(summary: dict, by_cond: dict, systems: list[str], conditions: list[str]) -> None:
    print("| metric | " + " | ".join(systems) + " |")
    print("|---|" + "---|" * len(systems))
    for key, pct in [("images", False), ("field_exact", True), ("card_all_correct", True),
                     ("side_accuracy", True), ("negatives_rejected", True), ("p50_ms", False), ("p90_ms", False)]:
        print(f"| {key} | " + " | ".join(_f(summary[s][key], pct) for s in systems) + " |")
    if len(systems) == 2:
        sp = summary["baseline"]["p50_ms"] / summary["ours"]["p50_ms"]
        print(f"| speed-up (p50) | {sp:.1f}x | 1.0x |")
    print("\n| field | " + " | ".join(systems) + " |")
    print("|---|" + "---|" * len(systems))
    for k in FIELD_NAMES:
        print(f"| {k} | " + " | ".join(_f(summary[s]["per_field"].get(k, float("nan"))) for s in systems) + " |")
    print("\n| condition | n | " + " | ".join(f"{s} fields | {s} card | {s} side | {s} p50 ms" for s in systems) + " |")
    print("|---|---|" + "---|---|---|---|" * len(systems))
    for c in conditions:
        row = by_cond[systems[0]][c]
        cells = []
        for s in systems:
            b = by_cond[s][c]
            cells += [_f(b["field_exact"]), _f(b["card_all_correct"] if c[:4] != "neg_" else b["negatives_rejected"]),
                      _f(b["side_accuracy"]), _f(b["p50_ms"], False)]
        print(f"| {c} | {row['images']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
