"""Train the risk classifier (src/idcard_ocr/data/risk_model.json): softmax regression over card measurements.

    PYTHONPATH=. .venv/bin/python -m tools.train_risk [--n 14] [--cache /tmp/risk_rows.jsonl]

Images come from our renderer (tools/synth) with seeds from TRAIN_SEED (never used by bench/risk.py, whose
seeds start at bench.risk.BENCH_SEED, nor by bench/run.py or the tests). Every image goes through the real
read_detailed() and idcard_ocr.checks.analyse(), as JPEG bytes the way a phone uploads them (as_upload), so
the model sees what it will see in service. It never sees the Software tag (analyse() ignores metadata).
Labels are the renderer's truth.risk. Everything is deterministic: same seeds, same weights. The renderer's
HELD_OUT variants (a copier of another make) are never trained on: bench/risk.py reports them as unseen.

The model in src/idcard_ocr/data/risk_model.json was made with `--n 8` (its recipe records n and the seeds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from idcard_ocr.checks import analyse
from idcard_ocr.checks.risk import FEATURES, feature_vector
from idcard_ocr.engine import warm_up
from idcard_ocr.model import RISK_CLASSES
from idcard_ocr.pipeline import read_detailed
from tools.synth import CONDITIONS, HELD_OUT, NEGATIVES, VARIANTS, as_upload, make_sample

TRAIN_SEED = 31_000_000
OUT = Path(__file__).resolve().parents[1] / "src" / "idcard_ocr" / "data" / "risk_model.json"
# Images per condition: n for the ordinary photo conditions, more for the rarer classes.
EXTRA = {"photocopy": 2, "both_sides": 1, "copy_photo": 2, "screen": 5, "edited": 4, "temporary": 3, "colour_copy": 2,
         "edge_copy": 4}
L2 = 0.02
ORIGINAL_WEIGHT = 2.0
SCREEN_WEIGHT = 1.5
ITERATIONS = 4000
LEARNING_RATE = 0.2


def plan(n: int) -> list[tuple[str, int]]:
    # HELD_OUT variants (another copier make) are never trained on: bench/risk.py reports them as unseen.
    conds = [c for c in CONDITIONS if c not in NEGATIVES] + [v for v in VARIANTS if v not in HELD_OUT]
    out = []
    for ci, c in enumerate(conds):
        for i in range(n * EXTRA.get(c, 1)):
            out.append((c, TRAIN_SEED + ci * 10_000 + i))
    return out


def collect(n: int, cache: Path | None) -> list[dict[str, Any]]:
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if cache and cache.exists():
        for line in cache.read_text("utf-8").splitlines():
            r = json.loads(line)
            done[(r["condition"], r["seed"])] = r
    eng = warm_up()
    rows = []
    todo = plan(n)
    t0 = time.perf_counter()
    fh = cache.open("a", encoding="utf-8") if cache else None
    try:
        for k, (cond, seed) in enumerate(todo):
            if (cond, seed) in done:
                rows.append(done[(cond, seed)])
                continue
            s = make_sample(seed, cond)
            d = read_detailed(as_upload(s), engine=eng)  # as a phone uploads it: JPEG
            feats, _ = analyse(d, eng)
            r = {"condition": cond, "seed": seed, "label": s.truth.risk, "cards": feats}
            rows.append(r)
            if fh:
                fh.write(json.dumps(r) + "\n")
                fh.flush()
            if k % 25 == 0:
                print(f"{k}/{len(todo)} {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        if fh:
            fh.close()
    return rows


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, sample_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression, L2-penalized, full-batch gradient descent from zeros (deterministic)."""
    d = x.shape[1]
    w = np.zeros((n_classes, d))
    b = np.zeros(n_classes)
    onehot = np.eye(n_classes)[y]
    sw = sample_w / sample_w.sum()
    for _ in range(ITERATIONS):
        logits = x @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * sw[:, None]
        w -= LEARNING_RATE * (g.T @ x + L2 * w)
        b -= LEARNING_RATE * g.sum(axis=0)
    return w, b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="images per ordinary condition")
    ap.add_argument("--cache", type=Path, default=None, help="JSON-lines cache of measured rows (resumable)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    rows = [r for r in collect(args.n, args.cache) if r["cards"] and r["label"] in RISK_CLASSES]
    x_list, y_list = [], []
    for r in rows:
        for m in r["cards"]:  # each card of an image is an example of the image's class
            x_list.append(feature_vector(m))
            y_list.append(RISK_CLASSES.index(r["label"]))
    x, y = np.array(x_list), np.array(y_list)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / std
    counts = np.bincount(y, minlength=len(RISK_CLASSES)).astype(float)
    # Balance the classes; originals count double, since flagging a genuine photo is the costlier error, and
    # screens one and a half: their grid peak now stands apart (spectral excess against its neighbours).
    cw = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(RISK_CLASSES), 0.0)
    cw[RISK_CLASSES.index("original")] *= ORIGINAL_WEIGHT
    cw[RISK_CLASSES.index("screen")] *= SCREEN_WEIGHT
    w, b = fit(z, y, len(RISK_CLASSES), cw[y])
    pred = np.argmax(z @ w.T + b, axis=1)
    acc = float(np.mean(pred == y))
    conf = np.zeros((len(RISK_CLASSES), len(RISK_CLASSES)), int)
    for t, p in zip(y, pred):
        conf[t, p] += 1
    model = {
        "classes": list(RISK_CLASSES),
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "std": [round(float(v), 6) for v in std],
        "weights": [[round(float(v), 6) for v in row] for row in w],
        "bias": [round(float(v), 6) for v in b],
        "recipe": {
            "script": "tools/train_risk.py", "train_seed": TRAIN_SEED, "n": args.n, "extra": EXTRA,
            "l2": L2, "original_weight": ORIGINAL_WEIGHT, "screen_weight": SCREEN_WEIGHT, "iterations": ITERATIONS,
            "learning_rate": LEARNING_RATE, "examples": len(y),
            "class_counts": dict(zip(RISK_CLASSES, map(int, counts))), "train_accuracy": round(acc, 4),
        },
    }
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"{len(y)} cards from {len(rows)} images; training accuracy {acc:.3f}")
    print("confusion (rows truth, cols predicted):", list(RISK_CLASSES))
    for cls, row in zip(RISK_CLASSES, conf):
        print(f"  {cls:10s} {row.tolist()}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
