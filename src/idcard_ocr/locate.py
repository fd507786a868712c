"""Find card quadrilaterals in an image and straighten them.

Candidates come from the card's own outline (edges and contours: cheap, exact under perspective); where
the outline is lost in a busy or low-contrast background, orient.key_line_quads places the card from
its key lines instead. Which long edge is the top is decided later, by reading.
"""

from __future__ import annotations

import cv2
import numpy as np

from .layout import ASPECT, CANON_H, CANON_W

_WORK_SIDE = 720  # contour search runs on a copy this size: cheap and enough for a card's outline
_CLOSE = np.ones((5, 5), np.uint8)


def order_quad(pts: np.ndarray) -> np.ndarray:
    """Corners clockwise (in image coordinates) starting at the end of a long edge.

    The first edge (p0 -> p1) is a long edge, so warping p0..p3 onto the canonical rectangle gives a
    landscape card, upright or upside down.
    """
    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise on screen (y points down)
    e01 = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[3] - pts[2])
    e12 = np.linalg.norm(pts[2] - pts[1]) + np.linalg.norm(pts[0] - pts[3])
    if e12 > e01:
        pts = np.roll(pts, -1, axis=0)
    # Of the two long-edge starts, take the one whose top edge points rightwards (rotation < 180).
    v = pts[1] - pts[0]
    if v[0] < 0 or (v[0] == 0 and v[1] < 0):
        pts = np.roll(pts, 2, axis=0)
    return pts


def _quad_ok(q: np.ndarray, img_area: float) -> bool:
    if not cv2.isContourConvex(q.reshape(-1, 1, 2).astype(np.int32)):
        return False
    area = cv2.contourArea(q)
    if area < 0.035 * img_area or area > 0.995 * img_area:
        return False
    a = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[3] - q[2])) / 2
    b = (np.linalg.norm(q[2] - q[1]) + np.linalg.norm(q[0] - q[3])) / 2
    long_, short = max(a, b), min(a, b)
    if short <= 0 or not (ASPECT * 0.72 <= long_ / short <= ASPECT * 1.35):
        return False
    # Each corner roughly square: perspective allowed, slivers refused.
    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        u, w = a - b, c - b
        cos = abs(float(np.dot(u, w)) / (np.linalg.norm(u) * np.linalg.norm(w) + 1e-6))
        if cos > 0.5:
            return False
    return True


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    union = cv2.contourArea(a) + cv2.contourArea(b) - inter
    return float(inter / union) if union > 0 else 0.0


def outline_quads(img: np.ndarray) -> list[np.ndarray]:
    """Card-shaped convex quadrilaterals from the image's edges, largest first, in image pixels."""
    h, w = img.shape[:2]
    s = min(1.0, _WORK_SIDE / max(h, w))
    small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
    raw = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(raw, (5, 5), 0)
    sat = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[:, :, 1]
    area = float(small.shape[0] * small.shape[1])
    med = float(np.median(gray))
    edge_maps = [
        cv2.Canny(gray, 0.5 * med, 1.2 * med + 20),
        cv2.Canny(gray, 20, 60),
        cv2.Canny(cv2.GaussianBlur(sat, (5, 5), 0), 20, 60),
        # faint outlines (a grey copy on white paper): low thresholds, gaps closed
        cv2.morphologyEx(cv2.Canny(cv2.GaussianBlur(raw, (7, 7), 0), 8, 24), cv2.MORPH_CLOSE, _CLOSE),
    ]
    found: list[np.ndarray] = []
    kernel = np.ones((3, 3), np.uint8)
    for edges in edge_maps:
        edges = cv2.dilate(edges, kernel)
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        contours = sorted(contours, key=cv2.contourArea, reverse=True)[:25]
        for cnt in contours:
            hull = cv2.convexHull(cnt)
            if cv2.contourArea(hull) < 0.035 * area:
                continue
            peri = cv2.arcLength(hull, True)
            for eps in (0.015, 0.025, 0.04):
                approx = cv2.approxPolyDP(hull, eps * peri, True)
                if len(approx) == 4:
                    q = approx.reshape(4, 2).astype(np.float32)
                    if _quad_ok(q, area):
                        found.append(order_quad(q) / s)
                    break
    found.sort(key=cv2.contourArea, reverse=True)
    out: list[np.ndarray] = []
    for q in found:
        if all(_iou(q, o) < 0.5 for o in out):
            out.append(q)
    return out


def homography(quad: np.ndarray) -> np.ndarray:
    """Image -> canonical card pixels for an ordered quad."""
    dst = np.array([[0, 0], [CANON_W, 0], [CANON_W, CANON_H], [0, CANON_H]], np.float32)
    return cv2.getPerspectiveTransform(quad.astype(np.float32), dst)


def straighten(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The canonical CANON_W x CANON_H card image for an ordered quad."""
    return cv2.warpPerspective(img, homography(quad), (CANON_W, CANON_H), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def rotation_of(quad: np.ndarray) -> int:
    """Clockwise rotation (0/90/180/270) of an upright-ordered quad's top edge."""
    v = quad[1] - quad[0]
    deg = float(np.degrees(np.arctan2(v[1], v[0]))) % 360
    return round(deg / 90.0) % 4 * 90
