"""Risk, quality, portrait and card-type checks on rendered images the risk model never saw, in one run.

    PYTHONPATH=. .venv/bin/python -m bench.risk --n 20

For each condition of tools/synth (and its VARIANTS: other card types, edited, photographed copies, cut-off
cards) it renders n images from BENCH_SEED (tools/train_risk.py trains from TRAIN_SEED: disjoint), hands each
to read_detailed() as the JPEG a phone would upload (tools.synth.as_upload; edited images carry their
editor's EXIF Software tag half the time): read twice, plain (checks=False) and as read() does it (with the
checks), then assess() gives the checks' details. Prints:

- the risk confusion matrix over original / photocopy / screen / edited / temporary / not a card,
- per-flag precision / recall / agreement against the renderer's truth (blur, exposure, glare, cut-off),
- portrait box IoU against the renderer's photo box,
- card-type confusion, negatives that produced fields,
- fields read from other card types and cut-off cards against the truth,
- latency of the plain read and of the read with the checks (same images, same run),

and writes bench/out/risk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from idcard_ocr.checks import assess
from idcard_ocr.engine import warm_up
from idcard_ocr.pipeline import read_detailed
from tools.synth import CONDITIONS, HELD_OUT, VARIANTS, as_upload, make_sample

BENCH_SEED = 41_000_000
OUT = Path(__file__).resolve().parent / "out"
RISK_ROWS = ("original", "photocopy", "screen", "edited", "temporary", "none")
FLAGS = ("blur", "over_exposure", "under_exposure", "glare", "cut_off", "covered")
TYPES = ("resident", "temporary", "permit", "foreign", "unknown")
ALL = list(CONDITIONS) + list(VARIANTS)
# Photos of resident cards, no other type to re-read: where "the plain read" and its overhead are meant.
RESIDENT_CONDS = [c for c in CONDITIONS if not c.startswith("neg_")]


def _iou(a: list[Any], b: list[Any]) -> float:
    pa, pb = np.array(a, np.float32), np.array(b, np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    union = cv2.contourArea(pa) + cv2.contourArea(pb) - inter
    return float(inter / union) if union > 0 else 0.0


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def run_one(cond: str, seed: int, eng: Any, layout: str = "plain") -> dict[str, Any]:
    s = make_sample(seed, cond, layout=layout)
    data = as_upload(s)
    t = time.perf_counter()
    read_detailed(data, engine=eng, checks=False)  # the plain read: fields only
    read_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    d = read_detailed(data, engine=eng)  # the read as read() does it: checks, other card types re-read
    full_ms = (time.perf_counter() - t) * 1000
    c = assess(d, side_requested="auto", engine=eng)  # the CardChecks behind d.reading, for every portrait
    truth = s.truth
    r = d.reading
    row: dict[str, Any] = {
        "condition": cond, "seed": seed, "read_ms": read_ms, "full_ms": full_ms,
        "fields_exact": [r.value(k) == v for k, v in truth.fields.items()],
        "fields_wrong": sum(r.value(k) is not None and r.value(k) != v for k, v in truth.fields.items()),
        "fields_reported": sum(r.value(k) is not None for k in truth.fields),
        "truth_risk": truth.risk, "risk": c.risk.kind if c.risk else "none",
        "scores": c.risk.scores if c.risk else None, "risk_reasons": c.risk.reasons if c.risk else [],
        "edit_tool": c.risk.edit_tool if c.risk else None, "truth_software": truth.software,
        "truth_type": truth.card_type, "type": c.card_type if r.cards else "unknown",
        "side": r.side, "truth_side": truth.side, "fields": len(r.fields),
        "image_status": c.quality.image_status, "score": c.quality.score,
        "flags": {f: getattr(c.quality, f) for f in FLAGS}, "truth_flags": dict(truth.flags),
        "measures": c.quality.measures, "warnings": c.warnings.model_dump(),
    }
    # Portrait: each truth photo box against the found portrait that overlaps it most.
    ious = []
    for tq in truth.portraits:
        best = max((_iou(tq, p.quad) for p in c.portraits), default=0.0)
        ious.append(best)
    row["portrait_iou"] = ious
    row["portrait_found"] = len(c.portraits)
    return row


def _prf(rows: list[dict[str, Any]], flag: str) -> dict[str, float]:
    tp = fp = fn = tn = 0
    unmeasured = 0
    for r in rows:
        truth = bool(r["truth_flags"].get(flag, False))
        got = r["flags"].get(flag)
        if got is None:
            unmeasured += 1
            got = False  # no card found: nothing flagged
        tp += truth and got
        fp += (not truth) and got
        fn += truth and not got
        tn += (not truth) and not got
    n = tp + fp + fn + tn
    return {
        "positives": tp + fn, "flagged": tp + fp, "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"), "agreement": (tp + tn) / n if n else float("nan"),
        "unmeasured": unmeasured,
    }


def _share(ious: list[float], at: float = 0.8) -> float:
    return sum(i >= at for i in ious) / len(ious) if ious else float("nan")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    conf = {t: Counter() for t in RISK_ROWS}
    for r in rows:
        conf[r["truth_risk"]][r["risk"]] += 1
    recall = {t: conf[t][t] / sum(conf[t].values()) if sum(conf[t].values()) else float("nan") for t in RISK_ROWS}
    originals = [r for r in rows if r["truth_risk"] == "original" and r["risk"] != "none"]
    flagged_as = {k: sum(r["risk"] == k for r in originals) / len(originals) if originals else float("nan")
                  for k in ("photocopy", "screen", "edited", "temporary")}
    tconf = {t: Counter() for t in ("resident", "temporary", "permit", "foreign", "bank_card", "driving_licence",
                                    "none")}
    for r in rows:
        tconf[r["truth_type"]][r["type"]] += 1
    neg = [r for r in rows if r["condition"].startswith("neg_")]  # NEGATIVES and the variants' neg_*
    ious_res = [i for r in rows if r["truth_type"] == "resident" for i in r["portrait_iou"]]
    # Fronts the reader found at all (IoU 0 means no front card came back), and the same without the images
    # made to cut the card off (their photo may lie outside the frame).
    found_res = [i for r in rows if r["truth_type"] == "resident" and r["portrait_found"] for i in r["portrait_iou"]]
    whole_res = [i for r in rows if r["truth_type"] == "resident" and r["condition"] != "cut_off"
                 for i in r["portrait_iou"]]
    ious_other = {t: [i for r in rows if r["truth_type"] == t for i in r["portrait_iou"]]
                  for t in ("temporary", "permit", "foreign")}
    read = [r["read_ms"] for r in rows]
    both = [r["full_ms"] for r in rows]
    reading: dict[str, dict[str, Any]] = {}
    for name, sel in (("temporary", lambda r: r["truth_type"] == "temporary"),
                      ("permit", lambda r: r["truth_type"] == "permit"),
                      ("foreign", lambda r: r["truth_type"] == "foreign"),
                      ("cut_off", lambda r: r["condition"] == "cut_off")):
        got = [r for r in rows if sel(r) and r["fields_exact"]]
        flat = [x for r in got for x in r["fields_exact"]]
        reading[name] = {"cards": len(got), "fields": len(flat),
                         "reported": sum(r["fields_reported"] for r in got),
                         "wrong": sum(r["fields_wrong"] for r in got),
                         "field_exact": sum(flat) / len(flat) if flat else float("nan"),
                         "card_all_correct": (sum(all(r["fields_exact"]) for r in got) / len(got)
                                              if got else float("nan"))}
    edited = [r for r in rows if r["truth_risk"] == "edited"]
    tagged = [r for r in edited if r["truth_software"]]
    untagged = [r for r in edited if not r["truth_software"]]
    held = [r for r in rows if r["condition"] in HELD_OUT]
    return {
        "images": len(rows),
        "held_out": {"conditions": list(HELD_OUT), "images": len(held),
                     "called_as_truth": sum(r["risk"] == r["truth_risk"] for r in held),
                     "answered": dict(Counter(r["risk"] for r in held))},
        "risk_confusion": {t: dict(conf[t]) for t in RISK_ROWS},
        "risk_recall": recall,
        "originals_flagged_as": flagged_as,
        "edited_recall_tagged": sum(r["risk"] == "edited" for r in tagged) / len(tagged) if tagged else None,
        "edited_recall_untagged": sum(r["risk"] == "edited" for r in untagged) / len(untagged) if untagged else None,
        "edit_tool_exact": sum(r["edit_tool"] == r["truth_software"] for r in tagged) / len(tagged) if tagged else None,
        "flags": {f: _prf(rows, f) for f in FLAGS},
        "negatives_with_fields": sum(r["fields"] > 0 for r in neg),
        "negatives": len(neg),
        "portrait_resident": {
            "fronts": len(ious_res), "mean": statistics.fmean(ious_res) if ious_res else float("nan"),
            "p05": _pct(ious_res, 0.05), "share_ge_0.8": _share(ious_res),
            "found": len(found_res), "found_share_ge_0.8": _share(found_res),
            "found_mean": statistics.fmean(found_res) if found_res else float("nan"),
            "not_cut_off": len(whole_res), "not_cut_off_share_ge_0.8": _share(whole_res),
        },
        "portrait_other": {t: {"fronts": len(v), "share_ge_0.8": sum(i >= 0.8 for i in v) / len(v) if v else None}
                           for t, v in ious_other.items()},
        "type_confusion": {t: dict(c) for t, c in tconf.items()},
        "image_status": dict(Counter(r["image_status"] for r in rows)),
        "other_types_read": reading,
        "latency_ms": {
            "read_mean": statistics.fmean(read), "read_p50": _pct(read, 0.5),
            "read_assess_mean": statistics.fmean(both), "read_assess_p50": _pct(both, 0.5),
            "resident_overhead_mean_pct": _overhead([r for r in rows if r["condition"] in RESIDENT_CONDS]),
            "overhead_mean_pct": 100 * (statistics.fmean(both) / statistics.fmean(read) - 1),
            "overhead_p50_pct": 100 * (_pct(both, 0.5) / _pct(read, 0.5) - 1),
        },
    }


def _overhead(rows: list[dict[str, Any]]) -> float:
    if not rows:
        return float("nan")
    return 100 * (statistics.fmean(r["full_ms"] for r in rows) / statistics.fmean(r["read_ms"] for r in rows) - 1)


def _f(x: Any, pct: bool = True) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{100 * x:.1f} %" if pct else f"{x:.1f}"


def report(s: dict[str, Any]) -> None:
    print(f"images: {s['images']}\n")
    print("risk confusion (rows: truth, columns: answered)")
    print("| truth | " + " | ".join(RISK_ROWS) + " | recall |")
    print("|---|" + "---|" * (len(RISK_ROWS) + 1))
    for t in RISK_ROWS:
        row = s["risk_confusion"][t]
        if not row:
            continue
        print(f"| {t} | " + " | ".join(str(row.get(k, 0)) for k in RISK_ROWS) + f" | {_f(s['risk_recall'][t])} |")
    h = s["held_out"]
    print(f"\nheld-out variants (never trained or tuned on: {', '.join(h['conditions'])}): {h['called_as_truth']} of "
          f"{h['images']} answered as their truth; answers {h['answered']}")
    print("\noriginal photos answered as: " + ", ".join(f"{k} {_f(v)}" for k, v in s["originals_flagged_as"].items()))
    print(f"edited recall: with Software tag {_f(s['edited_recall_tagged'])}, from pixels only "
          f"{_f(s['edited_recall_untagged'])}; edit_tool exact {_f(s['edit_tool_exact'])}")
    print("\n| flag | truth positives | flagged | precision | recall | agreement | no card |")
    print("|---|---|---|---|---|---|---|")
    for f, m in s["flags"].items():
        print(f"| {f} | {m['positives']} | {m['flagged']} | {_f(m['precision'])} | {_f(m['recall'])} | "
              f"{_f(m['agreement'])} | {m['unmeasured']} |")
    p = s["portrait_resident"]
    print(f"\nportrait IoU >= 0.8, resident fronts: all {p['fronts']}: {_f(p['share_ge_0.8'])} (mean {p['mean']:.3f}, "
          f"p05 {p['p05']:.3f}); found by the reader {p['found']}: {_f(p['found_share_ge_0.8'])} (mean "
          f"{p['found_mean']:.3f}); all but cut_off {p['not_cut_off']}: {_f(p['not_cut_off_share_ge_0.8'])}")
    for t, v in s["portrait_other"].items():
        print(f"  {t}: {v['fronts']} fronts, >= 0.8: {_f(v['share_ge_0.8'])}")
    print("\ncard type confusion (rows: truth)")
    for t, row in s["type_confusion"].items():
        if row:
            print(f"  {t}: {row}")
    print(f"\nnegatives that produced fields: {s['negatives_with_fields']} of {s['negatives']}")
    print(f"image_status: {s['image_status']}")
    lat = s["latency_ms"]
    print("\nfields read, against the renderer's truth (cards with fields in the truth)")
    print("| cards | n | field exact | card all-correct | fields reported | reported but wrong |")
    print("|---|---|---|---|---|---|")
    for t, v in s["other_types_read"].items():
        print(f"| {t} | {v['cards']} | {_f(v['field_exact'])} | {_f(v['card_all_correct'])} | {v['reported']} "
              f"| {v['wrong']} |")
    print(f"\nlatency (ms), same images: plain read (checks=False) mean {lat['read_mean']:.0f} / p50 "
          f"{lat['read_p50']:.0f}; read with the checks mean {lat['read_assess_mean']:.0f} / p50 "
          f"{lat['read_assess_p50']:.0f}; overhead {lat['overhead_mean_pct']:.1f} % (mean), "
          f"{lat['overhead_p50_pct']:.1f} % (p50); on the resident-card conditions alone "
          f"{lat['resident_overhead_mean_pct']:.1f} % (mean; other types are read twice, by design)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="images per condition")
    ap.add_argument("--seed", type=int, default=BENCH_SEED)
    ap.add_argument("--conditions", default="", help="comma-separated subset (default: all and the variants)")
    ap.add_argument("--out", type=Path, default=OUT / "risk.json")
    ap.add_argument("--layout", default="plain", help="renderer layout: varied is never used in training (held out); "
                    "so are the HELD_OUT variants (another copier)")
    args = ap.parse_args(argv)
    conds = [c for c in args.conditions.split(",") if c] or ALL
    eng = warm_up()
    rows = []
    t0 = time.perf_counter()
    for i in range(args.n):  # interleave conditions so machine load drifts hit all alike
        for cond in conds:  # a condition's seeds depend on its place in the full list: subsets repeat images
            rows.append(run_one(cond, args.seed + ALL.index(cond) * 10_000 + i, eng, args.layout))
    summary = summarize(rows)
    by_cond = defaultdict(list)
    for r in rows:
        by_cond[r["condition"]].append(r)
    summary["by_condition"] = {
        c: {"risk": dict(Counter(r["risk"] for r in rs)), "status": dict(Counter(r["image_status"] for r in rs)),
            "read_p50_ms": _pct([r["read_ms"] for r in rs], 0.5),
            "full_p50_ms": _pct([r["full_ms"] for r in rs], 0.5)}
        for c, rs in by_cond.items()
    }
    report(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {"seed": args.seed, "n": args.n, "layout": args.layout, "conditions": conds,
           "run_s": round(time.perf_counter() - t0, 1),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "summary": summary, "rows": rows}
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
