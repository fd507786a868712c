"""What was photographed: the original card, a photocopy, a screen, an edited image or a temporary card.

A small softmax regression over the card measurements (colour, spectrum, texture, tint, title) gives the five
Face++ probabilities; the weights and the recipe that made them are in data/risk_model.json and
tools/train_risk.py. An editor named in the file's metadata (EXIF/PNG Software) is decisive for "edited".
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources

import numpy as np

from ..model import FACEPP_CLASSES, RISK_CLASSES, Risk

# Inputs of the classifier, in order (see measure.py; temp_title is 1 when a 临时 title was read).
FEATURES: tuple[str, ...] = (
    "chrom_p99", "chrom_frac", "chroma_p99", "chroma_frac", "sat_p90", "fft_peak", "fft_consistent", "chroma_peak",
    "chroma_peak_mid", "speckle",
    "field_noise", "bg_a", "bg_b", "p10", "p50", "back", "temp_title", "ink_chroma", "outline",
)
# Not used: the noise level, which JPEG quality moves more than anything the classes differ in; nor the
# edge width (a blurred photo is not a copy).
# Value used when a measure could not be made (no text box, window off the card): a neutral, typical value.
DEFAULTS: dict[str, float] = {"field_noise": 1.0, "edge_width": 2.5, "fft_peak": 2.5,
                              "chroma_peak": 2.5, "fft_consistent": 2.0, "chroma_peak_mid": 2.5, "p10": 150.0,
                              "p50": 225.0, "ink_chroma": 0.1, "outline": 0.0}
# Editing software names as they appear in EXIF/XMP Software (case-insensitive). Camera firmware and plain
# converters are not editors.
EDITORS = re.compile(
    r"photoshop|gimp|lightroom|paint\.net|pixelmator|affinity photo|snapseed|picsart|meitu|美图|醒图|canva|"
    r"acdsee|corel|photoscape|fotor|photodirector|facetune|inpaint|fireworks",
    re.IGNORECASE,
)
# Evidence thresholds behind the human-readable reasons (not the decision: the classifier decides).
NO_COLOUR = 0.06  # chrom_p99: channel-share spread of the most colourful 1 % of the card
SPECKLE = 0.15  # isolated dark specks per 100 mm²
MOIRE = 3.8  # chroma_peak: log-spectrum excess of the strongest fine periodic component
# fft_consistent (a peak over its spectral neighbours, the same in every window: a pixel grid). Training renders:
# originals at most 1.58 (95 % under 1.4), screens at least 1.57 (median 2.24); other people's screens 2.6+.
GRID = 1.9
GRID_ONSET = 1.45  # below this is what text, guilloche and blur give on original cards
FLAT_PATCH = 0.45  # field_noise: a field's background noise as a share of the card's
# outline: a copier's line along the card's edge, flat paper right outside it, on three sides or four. Training
# renders of photographed cards: at most 24 (on a light desk); other people's photos: under 3; copies with the
# edge printed: 30-130. From here it is decisive, as an editor's tag is for "edited".
PRINTED_EDGE = 30.0


@lru_cache(maxsize=1)
def load_model() -> dict[str, object]:
    text = resources.files("idcard_ocr").joinpath("data/risk_model.json").read_text("utf-8")
    return json.loads(text)


def feature_vector(m: dict[str, float]) -> np.ndarray:
    out = []
    for k in FEATURES:
        v = m.get(k, float("nan"))
        if v is None or (isinstance(v, float) and math.isnan(v)):
            v = DEFAULTS.get(k, 0.0)
        # Logs where the evidence is in the ratio: "no colour" is 0.00 vs 0.05+, a flat patch 0.1 vs 0.9.
        if k == "speckle":
            v = math.log1p(10 * v)
        elif k in ("chrom_p99", "chrom_frac", "chroma_frac"):
            v = math.log(max(v, 0.0) + 0.005)
        elif k == "field_noise":
            v = math.log(max(v, 0.0) + 0.05)
        elif k == "ink_chroma":
            v = math.log(max(v, 0.0) + 0.01)  # a grey copy's ink: 0.00-0.03; a pale front's blue labels: 0.1+
        elif k == "outline":
            v = math.log1p(max(v, 0.0) / 10)  # a copier's printed edge: 25-130 grey levels; a card's: under 24
        elif k == "fft_consistent":
            # Only a grid peak above what print ever gives counts, and then strongly (a hinge).
            v = max(0.0, v - GRID_ONSET)
        out.append(float(v))
    return np.array(out, np.float64)


def predict(features: list[dict[str, float]], model: dict[str, object] | None = None) -> np.ndarray:
    """Mean class probabilities (RISK_CLASSES order) over the cards' feature dicts."""
    model = model or load_model()
    if list(model["features"]) != list(FEATURES):  # type: ignore[call-overload]
        raise RuntimeError("data/risk_model.json was trained on other features: rerun tools/train_risk.py")
    mean = np.array(model["mean"], np.float64)
    std = np.array(model["std"], np.float64)
    w = np.array(model["weights"], np.float64)
    b = np.array(model["bias"], np.float64)
    probs = []
    for m in features:
        z = (feature_vector(m) - mean) / std
        logits = w @ z + b
        e = np.exp(logits - logits.max())
        probs.append(e / e.sum())
    return np.mean(probs, axis=0)


def edit_tool(software: str | None) -> str | None:
    """The editor named by the file's Software tag, or None when it names none."""
    if software and EDITORS.search(software):
        return software
    return None


def _reasons(kind: str, m: dict[str, float], tool: str | None) -> list[str]:
    r: list[str] = []
    if kind == "photocopy":
        if m.get("chrom_p99", 1.0) < NO_COLOUR:
            r.append("no colour")
        if m.get("speckle", 0.0) > SPECKLE:
            r.append("toner speckle")
        if m.get("outline", 0.0) > PRINTED_EDGE:
            r.append("card edge printed as a line on paper")
    elif kind == "screen":
        if m.get("fft_consistent", 0.0) > GRID or m.get("chroma_peak", 0.0) > MOIRE:
            r.append("moire / sub-pixel grid")
    elif kind == "edited":
        if tool:
            r.append(f"software tag: {tool}")
        fn = m.get("field_noise", 1.0)
        if fn == fn and fn < FLAT_PATCH:
            r.append("noise-free patch over a field")
    elif kind == "temporary":
        if m.get("temp_title", 0.0) >= 1:
            r.append("title 临时居民身份证")
        if m.get("bg_a", 0.0) <= -7:
            r.append("green card")
    elif kind == "original":
        if m.get("chrom_p99", 0.0) >= NO_COLOUR:
            r.append("colour print")
        if m.get("chroma_peak", 0.0) <= MOIRE and m.get("fft_consistent", 0.0) <= GRID:
            r.append("no screen pattern")
    return r


def _round_sum1(p: np.ndarray) -> list[float]:
    """Probabilities to 4 decimals that still sum to 1: the others are rounded down and the largest takes the
    rest, so it never ends below its own value."""
    r = [math.floor(float(v) * 1e4) / 1e4 for v in p]
    i = int(np.argmax(p))
    r[i] = round(1.0 - sum(v for j, v in enumerate(r) if j != i), 4)
    return r


def assess_risk(features: list[dict[str, float]], software: str | None) -> Risk | None:
    """The Risk for an image's cards (None when there is no card to judge)."""
    if not features:
        return None
    p = predict(features)
    tool = edit_tool(software)
    if tool:
        # An editor's name in the metadata outweighs the pixels: at least 0.9 on "edited".
        k = RISK_CLASSES.index("edited")
        rest = 1.0 - p[k]
        target = max(float(p[k]), 0.9)
        p = p * ((1.0 - target) / rest if rest > 0 else 0.0)
        p[k] = target
    edge = max((m.get("outline", 0.0) for m in features if m.get("outline") == m.get("outline")), default=0.0)
    if edge >= PRINTED_EDGE and not tool:
        # The card's edge printed as a line on paper: a copy, whatever its colours say (a colour copy keeps them).
        k = RISK_CLASSES.index("photocopy")
        rest = 1.0 - p[k]
        target = max(float(p[k]), 0.9)
        p = p * ((1.0 - target) / rest if rest > 0 else 0.0)
        p[k] = target
    top = RISK_CLASSES[int(np.argmax(p))]
    # Reasons from the card that most supports the top class.
    worst = features[0]
    reasons = _reasons(top, worst, tool)
    scores = dict(zip(FACEPP_CLASSES, _round_sum1(p)))
    return Risk(kind=top, scores=scores, reasons=reasons, edit_tool=tool)  # type: ignore[arg-type]


def legality(r: Risk) -> dict[str, float]:
    """Face++ `legality`: the probabilities to 3 significant digits, summing to 1 (the largest takes up the
    rounding, so it may carry a digit or two more)."""
    vals = {k: float(f"{v:.3g}") for k, v in r.scores.items()}
    top = max(vals, key=lambda k: vals[k])
    vals[top] = round(1.0 - sum(v for k, v in vals.items() if k != top), 6)
    return vals
