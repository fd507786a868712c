"""Mapping between original image pixels and the canonical card (10 px/mm, upright)."""

from __future__ import annotations

import cv2
import numpy as np

from ..layout import CANON_H, CANON_W, PX_PER_MM
from ..model import Quad


def to_image(to_canon: np.ndarray, pts_canon: np.ndarray) -> np.ndarray:
    """Canonical px -> original image px."""
    inv = np.linalg.inv(to_canon)
    return cv2.perspectiveTransform(pts_canon.reshape(-1, 1, 2).astype(np.float64), inv).reshape(-1, 2)


def to_canon(to_canon: np.ndarray, pts_img: np.ndarray) -> np.ndarray:
    """Original image px -> canonical px."""
    return cv2.perspectiveTransform(pts_img.reshape(-1, 1, 2).astype(np.float64), to_canon).reshape(-1, 2)


def rect_mm_to_canon(box_mm: tuple[float, float, float, float]) -> np.ndarray:
    """x0, y0, x1, y1 in mm -> four canonical corners, clockwise from the top-left."""
    x0, y0, x1, y1 = (v * PX_PER_MM for v in box_mm)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def quad_area(q: np.ndarray) -> float:
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def px_per_mm(card_quad: np.ndarray) -> float:
    """Linear resolution of the card in the original image (geometric mean over its area)."""
    return float(np.sqrt(quad_area(card_quad) / (CANON_W * CANON_H))) * PX_PER_MM


def canon_box(to_canon_h: np.ndarray, quad_img: Quad) -> tuple[int, int, int, int] | None:
    """Bounds (x0, y0, x1, y1) in canonical px of an image-space quad, clipped to the card; None if empty."""
    q = to_canon(to_canon_h, np.array(quad_img, np.float64))
    x0, y0 = np.floor(q.min(0)).astype(int)
    x1, y1 = np.ceil(q.max(0)).astype(int)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(CANON_W, x1), min(CANON_H, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return int(x0), int(y0), int(x1), int(y1)
