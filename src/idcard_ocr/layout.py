"""Canonical card geometry: the straightened card and where each line sits on each side.

All positions are in millimetres from the top-left of the upright 85.6 x 54 mm card body.
"""

from __future__ import annotations

from dataclasses import dataclass

CARD_W_MM = 85.6
CARD_H_MM = 54.0
ASPECT = CARD_W_MM / CARD_H_MM
PX_PER_MM = 10.0
CANON_W = round(CARD_W_MM * PX_PER_MM)  # 856
CANON_H = round(CARD_H_MM * PX_PER_MM)  # 540


@dataclass(frozen=True)
class Band:
    """A horizontal band of the card holding one field's line(s): y range and x range of line centres."""

    y0: float
    y1: float
    x0: float = 0.0
    x1: float = CARD_W_MM
    label_x1: float = 0.0  # a line ending left of this is the printed label alone: nothing to read

    def holds(self, cx: float, cy: float) -> bool:
        return self.y0 <= cy < self.y1 and self.x0 <= cx < self.x1


# Front (portrait side). The portrait occupies x 54-82, y 5-39: no text there.
FRONT_BANDS: dict[str, Band] = {
    "name": Band(3.5, 10.8, 0, 54, label_x1=14.5),
    "sex_nation": Band(10.8, 16.4, 0, 54, label_x1=14.5),
    "birth": Band(16.4, 22.8, 0, 54, label_x1=14.5),
    "address": Band(22.8, 41.5, 0, 54, label_x1=14.5),
    "number": Band(41.5, 52.5, 0, 85.6, label_x1=24.0),
}
PORTRAIT_MM = (54.0, 5.0, 82.0, 39.0)  # x0, y0, x1, y1
ADDRESS_PITCH_MM = 4.5  # address lines on our layout (a card's own pitch is used where two are read)

# Back (emblem side). The emblem sits at x 5-22, y 4-21.
BACK_BANDS: dict[str, Band] = {
    "title": Band(3.0, 27.0, 22, 85.6),
    "authority": Band(35.0, 42.6, 10, 85.6, label_x1=30.5),
    "validity": Band(42.6, 51.5, 10, 85.6, label_x1=30.5),
}
EMBLEM_MM = (4.0, 3.0, 23.0, 22.0)

# Where the detector's line boxes sit on a well-straightened card, in mm (measured on rendered cards that
# follow the real layout). Only text whose place never depends on the holder is used: printed labels,
# the fixed-pitch number strip and the back's titles. See refine.py.
FRONT_ANCHORS: dict[str, float] = {
    "number_x0": 27.9, "number_x1": 80.7, "number_cy": 46.95,
    "name_x0": 5.55, "name_cy": 7.8,
    "sex_x0": 5.5, "sex_cy": 12.85,
    "birth_x0": 5.7, "birth_cy": 19.3,
    "address_x0": 5.65, "address_cy": 25.85,
    "number_label_x0": 5.15, "number_label_cy": 46.9,
    "nation_label_x0": 27.0,
}
BACK_ANCHORS: dict[str, float] = {
    "title1_x0": 28.6, "title1_x1": 71.45, "title1_cy": 10.45,
    "title2_x0": 23.7, "title2_x1": 76.45, "title2_cy": 19.4,
    "authority_x0": 16.5, "authority_cy": 38.85,
    "validity_x0": 16.5, "validity_cy": 45.85,
    "value_x0": 31.65,  # 签发机关 and 有效期限 values start here, on the labels' rows
}
GREEN_A = -7.0  # card background a* (Lab, 0 = neutral) below which the print is green: a temporary card
REFIT_TOLERANCE_MM = 1.5  # anchors further than this (RMS) from the layout: re-straighten the card
# (bands leave 2-3 mm of slack around each row, and crops follow the detected lines, not the layout)
