"""Read a region cut from a card (detect_rectify=false): no outline, no layout, only its text lines.

A caller who already cropped, say, the number strip or the validity line sends just that. The lines are
detected on the whole crop, turned upright by the line classifier, recognized, and each field is taken
from the text it must look like (an 18-character number, a date line, a validity range) or from the label
printed before it.
"""

from __future__ import annotations

import re

import numpy as np

from . import normalize as nz
from .boxes import quad_list
from .engine import Engine
from .idnumber import repair
from .model import Field
from .orient import _line_crop

_NUMBER = re.compile(r"(?<![0-9])[0-9OoDQIlZSB]{17}[0-9XxK×](?![0-9])")


def read_region(img: np.ndarray, eng: Engine) -> dict[str, Field]:
    """Fields found in a crop of a card, boxes in the crop's pixels."""
    lines = eng.detect(img, max_side=960)
    if not lines:
        return {}
    crops, quads = zip(*(_line_crop(img, ln.quad) for ln in lines))
    flips = [p > 0.5 for p in eng.upside_down(list(crops))]
    shown = [np.ascontiguousarray(c[::-1, ::-1]) if f else c for c, f in zip(crops, flips)]
    # reading order: top to bottom, then left to right
    items = sorted(zip(eng.recognize(shown), quads), key=lambda it: (float(it[1][:, 1].mean()), float(it[1][:, 0].min())))  # noqa: E501
    out: dict[str, Field] = {}

    def put(name: str, value: str | None, score: float, quad: np.ndarray) -> None:
        if value and name not in out:
            out[name] = Field(value=value, confidence=round(max(0.0, min(1.0, score)), 4), box=quad_list(quad))

    pending = ""  # a label read as a line of its own: its value is the next line
    for (text, score), quad in items:
        t = pending + text.replace(" ", "")
        pending = ""
        if t in ("姓名", "性别", "签发机关", "有效期限", "出生"):
            pending = t
            continue
        if m := _NUMBER.search(t):
            put("number", repair(m.group(0))[0], score, quad)
        vfrom, vto = nz.parse_validity(t) if re.search(r"\d{4}\D?\d{2}\D?\d{2}.{0,3}(\d{4}|长期)", t) else (None, None)
        if vfrom:
            put("valid_from", vfrom, score, quad)
            put("valid_to", vto, score, quad)
        elif "年" in t and (birth := nz.parse_birth(t)):
            put("birth", birth, score, quad)
        value = nz.strip_label(t)
        if t.startswith("姓名") and value:
            put("name", nz.normalize_name(value), score, quad)
        if t.startswith("签发机关") and value:
            put("authority", value, score, quad)
        if t.startswith("性别") and (m := re.search("[男女]", t)):
            put("sex", m.group(0), score, quad)
        if "民族" in t and (nat := nz.snap_nation(t.split("民族", 1)[1])):
            put("nation", nat[0], score * nat[1], quad)
    return out
