"""Our reader and the baseline on photos made by another renderer (../shared/external/dev), in one run.

    PYTHONPATH=. .venv/bin/python -m bench.external [--dir ../shared/external/dev] [--no-baseline]

The truth is the folder's gt.jsonl (see its README). Prints markdown tables (overall, per condition, the
card checks, latency of read and unread images apart) and writes bench/out/external.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from idcard_ocr.decode import decode
from idcard_ocr.engine import warm_up
from idcard_ocr.pipeline import read

from .baseline import baseline_read
from .run import OUT, _f, _pct

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "external" / "dev"


def _score(g: dict[str, Any], side: str, fields: dict[str, str]) -> dict[str, Any]:
    truth: dict[str, str] = g["fields"]
    per_field = {k: fields.get(k) == v for k, v in truth.items()}
    extra = [k for k in fields if k not in truth]
    ok = side == g["kind"] and all(per_field.values()) and not extra
    return {"file": g["file"], "condition": g["condition"], "kind": g["kind"], "side": side,
            "side_ok": side == g["kind"], "fields": per_field, "extra": extra, "all_ok": ok,
            "negative": g["kind"] == "none"}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    flds = [ok for r in rows for ok in r["fields"].values()]
    pos = [r for r in rows if not r["negative"]]
    neg = [r for r in rows if r["negative"]]
    read_ms = [r["ms"] for r in rows if r["side"] != "none"]
    none_ms = [r["ms"] for r in rows if r["side"] == "none"]
    every = [r["ms"] for r in rows]
    return {
        "images": len(rows),
        "field_exact": sum(flds) / len(flds) if flds else float("nan"),
        "card_all_correct": sum(r["all_ok"] for r in pos) / len(pos) if pos else float("nan"),
        "side_accuracy": sum(r["side_ok"] for r in rows) / len(rows) if rows else float("nan"),
        "negatives_rejected": sum(r["all_ok"] for r in neg) / len(neg) if neg else float("nan"),
        "p50_ms": _pct(every, 0.5), "p90_ms": _pct(every, 0.9), "p99_ms": _pct(every, 0.99),
        "read_p50_ms": _pct(read_ms, 0.5), "read_p99_ms": _pct(read_ms, 0.99),
        "none_p50_ms": _pct(none_ms, 0.5), "none_p99_ms": _pct(none_ms, 0.99),
    }


def _checks_row(g: dict[str, Any], r: Any) -> dict[str, Any]:
    q, risk = r.quality, r.risk
    return {
        "file": g["file"], "condition": g["condition"], "risk_truth": g["risk"],
        "risk": risk.kind if risk else None, "image_status": q.image_status if q else None,
        "blur": bool(q and q.blur), "over": bool(q and q.over_exposure), "under": bool(q and q.under_exposure),
    }


def _checks_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    plain = [r for r in rows if r["condition"] in ("normal", "rotated", "perspective")]
    copies = [r for r in rows if r["risk_truth"] == "copy"]
    screens = [r for r in rows if r["risk_truth"] == "screen"]
    originals = [r for r in rows if r["risk_truth"] == "normal" and r["risk"] is not None]
    return {
        "plain_photos": len(plain),
        "plain_flagged_blur_or_exposure": sum(r["blur"] or r["over"] or r["under"] for r in plain),
        # what a vendor's image_status says (glare counts as over_exposure there)
        "plain_status_not_normal": sum(r["image_status"] != "normal" for r in plain),
        "status_by_condition": {c: dict(sorted(Counter(r["image_status"] for r in rows
                                                       if r["condition"] == c).items()))
                                for c in sorted({r["condition"] for r in rows})},
        "copies_called_photocopy": f"{sum(r['risk'] == 'photocopy' for r in copies)}/{len(copies)}",
        "screens_called_screen": f"{sum(r['risk'] == 'screen' for r in screens)}/{len(screens)}",
        "originals_flagged":
            f"{sum(r['risk'] in ('photocopy', 'screen', 'edited') for r in originals)}/{len(originals)}",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    gt = [json.loads(line) for line in (args.dir / "gt.jsonl").read_text().splitlines() if line.strip()]
    eng = warm_up()
    base_ocr = None
    if not args.no_baseline:
        from rapidocr import RapidOCR

        base_ocr = RapidOCR(params={"Global.log_level": "error"})
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    checks: list[dict[str, Any]] = []
    for g in gt:
        path = args.dir / g["file"]
        t = time.perf_counter()
        r = read(path, engine=eng)
        ms = (time.perf_counter() - t) * 1000
        row = _score(g, r.side, {k: f.value for k, f in r.fields.items()})
        row["ms"] = ms
        results["ours"].append(row)
        checks.append(_checks_row(g, r))
        if base_ocr is not None:
            t = time.perf_counter()
            b = baseline_read(base_ocr, decode(path))  # the baseline is given the same decoded pixels
            row = _score(g, b["side"], b["fields"])
            row["ms"] = (time.perf_counter() - t) * 1000
            results["baseline"].append(row)
    systems = [k for k, v in results.items() if v]
    conditions = list(dict.fromkeys(g["condition"] for g in gt))
    summary = {s: _summary(results[s]) for s in systems}
    by_cond = {s: {c: _summary([r for r in results[s] if r["condition"] == c]) for c in conditions} for s in systems}
    cs = _checks_summary(checks)
    _print(summary, by_cond, systems, conditions, cs)
    OUT.mkdir(exist_ok=True)
    out = {"dir": str(args.dir), "summary": summary, "by_condition": by_cond, "checks": cs,
           "failures": [{k: r[k] for k in ("file", "condition", "side", "kind", "extra")}
                        | {"wrong": [k for k, ok in r["fields"].items() if not ok]}
                        for r in results["ours"] if not r["all_ok"]],
           "checks_rows": checks}
    (OUT / "external.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"\nwrote {OUT / 'external.json'}")


def _print(summary: dict, by_cond: dict, systems: list[str], conditions: list[str], cs: dict) -> None:
    print("| metric | " + " | ".join(systems) + " |")
    print("|---|" + "---|" * len(systems))
    for key, pct in [("images", False), ("field_exact", True), ("card_all_correct", True), ("side_accuracy", True),
                     ("negatives_rejected", True), ("p50_ms", False), ("p90_ms", False), ("p99_ms", False),
                     ("read_p50_ms", False), ("read_p99_ms", False), ("none_p50_ms", False), ("none_p99_ms", False)]:
        print(f"| {key} | " + " | ".join(_f(summary[s][key], pct) for s in systems) + " |")
    print("\n| condition | n | " + " | ".join(f"{s} fields | {s} card | {s} side" for s in systems) + " |")
    print("|---|---|" + "---|---|---|" * len(systems))
    for c in conditions:
        cells = []
        for s in systems:
            b = by_cond[s][c]
            cells += [_f(b["field_exact"]), _f(b["card_all_correct"] if not c.startswith("neg_")
                                               else b["negatives_rejected"]), _f(b["side_accuracy"])]
        print(f"| {c} | {by_cond[systems[0]][c]['images']} | " + " | ".join(cells) + " |")
    print("\n| card checks on these photos | result |\n|---|---|")
    for k, v in cs.items():
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
