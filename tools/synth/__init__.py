"""Synthetic ID card renderer: exact ground truth for tests and the benchmark.

Synthetic identities only; every image is drawn from shapes and installed fonts.

    from tools.synth import make_sample, make_set, CONDITIONS
    s = make_sample(7, "rot90")      # s.image (BGR), s.truth.fields, s.truth.quads ...
    s = make_sample(7, "clean", layout="varied")   # rows, sizes and fonts moved about (see LayoutJitter)
"""

from __future__ import annotations

import random

from .capture import CONDITIONS, EXTRA_CONDITIONS, NEGATIVES, Sample, Truth, capture
from .card import LAYOUTS, CardImage, LayoutJitter, layout_jitter, render_back, render_front
from .identity import Identity, random_identity, validity_term, wrap_address
from .variants import HELD_OUT, VARIANTS, as_upload, make_variant

__all__ = [
    "CONDITIONS", "EXTRA_CONDITIONS", "HELD_OUT", "LAYOUTS", "NEGATIVES", "VARIANTS", "CardImage", "Identity",
    "LayoutJitter", "Sample", "Truth",
    "as_upload", "capture", "layout_jitter", "make_sample", "make_set", "make_variant", "random_identity",
    "render_back", "render_front", "validity_term", "wrap_address",
]


def make_sample(seed: int, condition: str, *, layout: str = "plain") -> Sample:
    """One image for `condition`, everything drawn from random.Random(seed) (same inputs, same bytes).

    `condition` is one of CONDITIONS, EXTRA_CONDITIONS (on request only) or of the card checks' VARIANTS (other
    card types, edited, ...).
    `layout` is one of LAYOUTS: "plain" prints the standard layout; "varied" moves each printed row, scales
    the text and picks other faces, from a stream of its own (random.Random(seed ^ LAYOUT_SALT)), so the
    identity, card and scene are those of the plain sample with the same seed."""
    jitter = layout_jitter(layout, seed)
    if condition in VARIANTS:
        return make_variant(seed, condition, jitter=jitter)
    if condition not in CONDITIONS + EXTRA_CONDITIONS:
        known = CONDITIONS + EXTRA_CONDITIONS + VARIANTS
        raise ValueError(f"unknown condition {condition!r}; known: {', '.join(known)}")
    rng = random.Random(seed)
    identity = random_identity(rng)
    front = back = None
    if condition in ("both_sides", "two_cards") or (condition == "colour_copy" and rng.random() < 0.5):
        front, back = render_front(identity, rng, jitter), render_back(identity, rng, jitter)
    elif condition not in NEGATIVES:
        if rng.random() < 0.6:
            front = render_front(identity, rng, jitter)
        else:
            back = render_back(identity, rng, jitter)
    return capture(front, back, condition, rng)


def make_set(seed: int, n: int, conditions: list[str] | None = None, *, layout: str = "plain") -> list[Sample]:
    """n samples cycling through `conditions` (all by default); sample i uses seed * 100_003 + i."""
    conds = list(conditions) if conditions else list(CONDITIONS)
    return [make_sample(seed * 100_003 + i, conds[i % len(conds)], layout=layout) for i in range(n)]
