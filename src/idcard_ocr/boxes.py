"""Detected text lines as boxes on the upright canonical card, in millimetres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Line
from .layout import CANON_H, CANON_W, PX_PER_MM
from .model import Quad


@dataclass
class Box:
    """A detected line on the upright canonical card, in mm, with its pixel quad."""

    quad: np.ndarray  # canonical px, upright
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def w(self) -> float:
        return self.x1 - self.x0


def to_boxes(lines: list[Line], flipped: bool) -> list[Box]:
    """Boxes of detected lines; when flipped, as seen on the card turned upright (rotated 180)."""
    out = []
    for ln in lines:
        q = ln.quad.copy()
        if flipped:
            q = np.array([CANON_W, CANON_H], np.float32) - q
            q = np.roll(q, 2, axis=0)
        out.append(box_of(q))
    return out


def box_of(q: np.ndarray) -> Box:
    """The Box of a quad in upright canonical px."""
    xs, ys = q[:, 0] / PX_PER_MM, q[:, 1] / PX_PER_MM
    return Box(q, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def crop(card: np.ndarray, b: Box) -> np.ndarray:
    """Axis-aligned crop of a line on the upright canonical card (or one at its scale), with a little margin."""
    h = (b.y1 - b.y0) * PX_PER_MM
    pad_y, pad_x = 0.12 * h + 1, 0.25 * h + 2
    x0 = int(max(0, b.x0 * PX_PER_MM - pad_x))
    x1 = int(min(card.shape[1], b.x1 * PX_PER_MM + pad_x))
    y0 = int(max(0, b.y0 * PX_PER_MM - pad_y))
    y1 = int(min(card.shape[0], b.y1 * PX_PER_MM + pad_y))
    return card[y0:y1, x0:x1]


def union_quad(quads: list[np.ndarray]) -> np.ndarray:
    """The axis-aligned rectangle around quads, as four corners clockwise from the top-left."""
    pts = np.concatenate(quads)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def quad_list(q: np.ndarray) -> Quad:
    """A quad as the model stores it: (x, y) pairs rounded to 0.1 px."""
    return [(round(float(x), 1), round(float(y), 1)) for x, y in q]
