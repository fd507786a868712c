"""Measure where the other card types' labels sit, for idcard_ocr.othertypes.LABEL_ANCHORS.

    PYTHONPATH=. .venv/bin/python -m tools.measure_labels [--n 16]

Renders n cards of each type (tools.synth variants, seeds from MEASURE_SEED: disjoint from the benches',
the tests' and the risk model's), straightens each on its true outline, reads it by its labels and prints
the median left end and centre line of every label, per type and side, in mm; and the temporary card's
title line (left end, right end, centre line), which places a temporary card found by its title.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from idcard_ocr.boxes import box_of, crop
from idcard_ocr.engine import warm_up
from idcard_ocr.locate import homography, straighten
from idcard_ocr.orient import detect_lines
from idcard_ocr.othertypes import read_labelled
from tools.synth import make_sample

MEASURE_SEED = 51_000_000
TYPES = ("temporary", "permit", "foreign")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16)
    args = ap.parse_args(argv)
    eng = warm_up()
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for ti, kind in enumerate(TYPES):
        seen: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
        for i in range(args.n):
            s = make_sample(MEASURE_SEED + ti * 10_000 + i, kind)
            quad = np.array(s.truth.quads[0], np.float32)
            got = read_labelled(s.image, homography(quad), kind, s.truth.side, eng)
            for key, pt in got.labels.items():
                seen[s.truth.side][key].append(pt)
        out[kind] = {side: {k: (round(float(np.median([p[0] for p in v])), 2),
                                round(float(np.median([p[1] for p in v])), 2))
                            for k, v in keys.items() if len(v) >= args.n // 4}
                     for side, keys in seen.items()}
    print(out)
    titles = []
    for i in range(args.n):
        s = make_sample(MEASURE_SEED + i, "temporary")
        card = straighten(s.image, np.array(s.truth.quads[0], np.float32))
        boxes = [box_of(ln.quad) for ln in detect_lines(card, eng)]
        for b, (text, _) in zip(boxes, eng.recognize([crop(card, b) for b in boxes])):
            if "临时" in text:
                titles.append((b.x0, b.x1, b.cy))
    print("temporary title (x0, x1, cy):", tuple(round(float(np.median(v)), 2) for v in zip(*titles)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
