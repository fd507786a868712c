"""Find card quadrilaterals in an image and straighten them.

Candidates come from the card's own outline (edges and contours: cheap, exact under perspective), then from
four long straight edges where the outline runs into something and its contour is no quadrilateral; where
the outline is lost in a busy or low-contrast background, orient.key_line_quads places the card from
its key lines instead. Which long edge is the top is decided later, by reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .layout import ASPECT, CANON_H, CANON_W

_WORK_SIDE = 720  # contour search runs on a copy this size: cheap and enough for a card's outline
_CLOSE = np.ones((5, 5), np.uint8)
_NEAR = np.ones((7, 7), np.uint8)
_MIN_SUPPORT = 0.6  # share of a quad's sides that must lie on edges (a hull of noise does not)


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


def card_shaped(q: np.ndarray) -> bool:
    """Convex, about the card's aspect, corners roughly square: what a card can look like in a photo."""
    if not cv2.isContourConvex(q.reshape(-1, 1, 2).astype(np.int32)):
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


def _quad_ok(q: np.ndarray, img_area: float) -> bool:
    area = cv2.contourArea(q)
    return 0.035 * img_area <= area <= 0.97 * img_area and card_shaped(q)  # larger: the frame itself


def inside_fraction(q: np.ndarray, shape: tuple[int, ...]) -> float:
    """Share of the quad's area that lies inside the image."""
    h, w = shape[:2]
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    inter, _ = cv2.intersectConvexConvex(q.astype(np.float32), frame)
    area = cv2.contourArea(q.astype(np.float32))
    return float(inter / area) if area > 0 else 0.0


_ALONG = np.linspace(0.1, 0.9, 24)  # points sampled along a side: corners are rounded, the straight parts count


def _side_support(q: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per side of the quad, the share of points along it that fall on an edge."""
    a = q.astype(np.float64)
    b = np.roll(a, -1, axis=0)
    p = np.round(a[:, None, :] + (b - a)[:, None, :] * _ALONG[None, :, None]).astype(int).reshape(-1, 2)
    h, w = edges.shape
    ok = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
    hits = np.zeros(len(p), bool)
    hits[ok] = edges[p[ok, 1], p[ok, 0]] > 0
    return hits.reshape(4, -1).mean(axis=1)


def _edge_support(q: np.ndarray, edges: np.ndarray) -> float:
    """Share of points along the quad's sides that fall on an edge: a card's outline is mostly seen."""
    return float(_side_support(q, edges).mean())


_SIDE_SEEN = 0.5  # a quad from lines: each of its sides at least this much on an edge
_MAX_LINES = 16
_MAX_SEGMENTS = 150  # Hough segments merged into lines, longest first


def _long_lines(edges: np.ndarray) -> list[tuple[float, float, float]]:
    """The edge map's long straight lines as (theta, rho, length), collinear segments merged, longest first."""
    h, w = edges.shape
    # Only long edge chains: a text row is a run of short ones (one per character) and would make lines too.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edges, 8)
    keep = np.zeros(n, bool)
    keep[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= 0.15 * min(h, w)
    edges = np.where(keep[labels], edges, 0).astype(np.uint8)
    segs = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=30, minLineLength=0.06 * min(h, w), maxLineGap=8)
    lines: list[list[float]] = []
    if segs is None:
        return []
    segs = segs.reshape(-1, 4).astype(float)
    segs = segs[np.argsort(-np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]))[:_MAX_SEGMENTS]]
    for x1, y1, x2, y2 in segs.tolist():
        theta = float(np.arctan2(x2 - x1, -(y2 - y1))) % np.pi  # the line's normal angle, in [0, pi)
        rho = x1 * np.cos(theta) + y1 * np.sin(theta)
        length = float(np.hypot(x2 - x1, y2 - y1))
        for ln in lines:
            mid = ((x1 + x2) / 2 * np.cos(ln[0]) + (y1 + y2) / 2 * np.sin(ln[0])) - ln[1]  # off the line
            if _angle(ln[0], theta) < np.radians(2.5) and abs(mid) < 5:
                ln[2] += length
                break
        else:
            lines.append([theta, rho, length])
    lines.sort(key=lambda ln: -ln[2])
    return [(t, r, n) for t, r, n in lines[:_MAX_LINES]]


def _meet(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float] | None:
    """Where two lines (theta, rho, ...) cross (Cramer's rule: called for every pair of pairs)."""
    ca, sa, cb, sb = math.cos(a[0]), math.sin(a[0]), math.cos(b[0]), math.sin(b[0])
    det = ca * sb - sa * cb
    if abs(det) < 1e-3:
        return None
    return (a[1] * sb - sa * b[1]) / det, (ca * b[1] - a[1] * cb) / det


def _angle(a: float, b: float) -> float:
    d = abs(a - b) % np.pi
    return float(min(d, np.pi - d))


def line_quads(edges: np.ndarray, support: np.ndarray, area: float, most: int = 1) -> list[np.ndarray]:
    """Card-shaped quads whose four sides are long straight lines of ``edges``, each side mostly on an edge of
    ``support``; the best (most of the outline seen, then largest) first, at most ``most``, not overlapping."""
    lines = _long_lines(edges)
    h, w = edges.shape
    pairs = [(a, b) for i, a in enumerate(lines) for b in lines[i + 1:]
             if _angle(a[0], b[0]) < np.radians(25) and _gap(a[:2], b[:2]) > 0.1 * min(h, w)]
    scored: list[tuple[float, np.ndarray]] = []
    for i, (a, b) in enumerate(pairs):
        for c, d in pairs[i + 1:]:
            if _angle(a[0], c[0]) < np.radians(55):
                continue
            corners = [_meet(a, c), _meet(c, b), _meet(b, d), _meet(d, a)]  # in turn round the quad
            if any(p is None for p in corners):
                continue
            raw = np.array(corners, np.float32)
            sides = _side_support(raw, support)  # the cheapest test that most combinations fail, first
            if sides.min() < _SIDE_SEEN:
                continue
            q = order_quad(raw)
            if _quad_ok(q, area) and inside_fraction(q, edges.shape) >= 0.85:
                scored.append((float(sides.mean()) ** 4 * cv2.contourArea(q), q))  # all sides seen first, then size
    out: list[np.ndarray] = []
    for _, q in sorted(scored, key=lambda t: -t[0]):
        if all(iou(q, o) < 0.5 for o in out):
            out.append(q)
        if len(out) >= most:
            break
    return out


def _gap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """How far apart two near-parallel lines (theta, rho) run (b seen with a's normal: across theta 0/pi its
    rho changes sign)."""
    return abs(a[1] - (b[1] if abs(a[0] - b[0]) < np.pi / 2 else -b[1]))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two convex quads."""
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
    found: list[list[np.ndarray]] = []  # per outline seen: the candidates it gives (see over_border)
    kernel = np.ones((3, 3), np.uint8)
    for edges in edge_maps:
        edges = cv2.dilate(edges, kernel)
        support = cv2.dilate(edges, _NEAR)  # a side within ~4 px of an edge counts (corners are rounded)
        # where edges are everywhere (sensor noise, texture) lying on them proves nothing
        need = max(_MIN_SUPPORT, float(np.count_nonzero(support)) / support.size + 0.3)
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
                    if _quad_ok(q, area) and _edge_support(q, support) >= need:
                        found.append([order_quad(c) / s for c in over_border(q, small.shape)])
                    break
    found.sort(key=lambda cands: cv2.contourArea(cands[-1]), reverse=True)  # by the area seen
    # Where the card's edge runs into something (a sheet under it, a cable, a marble vein) its contour is no
    # quadrilateral, and what closed contours remain are other things on the desk. The card's four sides are
    # still long straight edges: quads from lines, after the closed outlines (which are exact where seen).
    edges = edge_maps[1]
    support = cv2.dilate(cv2.dilate(edges, kernel), _NEAR)
    found += [[order_quad(c) / s for c in over_border(q, small.shape)] for q in line_quads(edges, support, area)]
    out: list[np.ndarray] = []
    for q in (c for cands in found for c in cands):
        if all(iou(q, o) < 0.5 for o in out):
            out.append(q)
    return out


def over_border(q: np.ndarray, shape: tuple[int, ...], tol: float = 3.0) -> list[np.ndarray]:
    """A quad with one side on the image border is a card cut off by the frame: the card itself, extended
    past the border to the card's aspect (the cut side may be a short or a long one: both are tried,
    longer extension last), then the quad as seen. Other quads come back as they are."""
    h, w = shape[:2]

    def on_border(a: np.ndarray, b: np.ndarray) -> bool:
        return any(abs(a[k] - v) <= tol and abs(b[k] - v) <= tol for k, v in ((0, 0), (0, w - 1), (1, 0), (1, h - 1)))

    cut = [i for i in range(4) if on_border(q[i], q[(i + 1) % 4])]
    if len(cut) != 1:
        return [q]
    i = cut[0]
    a, b, c, d = (q[(i + k) % 4].astype(np.float64) for k in range(4))  # a-b on the border, c-d the far side
    far = float(np.linalg.norm(d - c))
    depth = (np.linalg.norm(b - c) + np.linalg.norm(a - d)) / 2
    out = []
    for full in sorted(t for t in (far * ASPECT, far / ASPECT) if t > 1.03 * depth):
        b2 = c + (b - c) * full / max(np.linalg.norm(b - c), 1e-6)
        a2 = d + (a - d) * full / max(np.linalg.norm(a - d), 1e-6)
        e = np.array([a2, b2, c, d], np.float32)
        if card_shaped(e):
            out.append(e)
    return [*out, q]


def outline_support(img: np.ndarray) -> Callable[[np.ndarray], float]:
    """A scorer of quads: how much of a quad's sides lie on edges of img (a card's outline mostly does)."""
    h, w = img.shape[:2]
    s = min(1.0, _WORK_SIDE / max(h, w))
    small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
    edges = cv2.dilate(cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0), 20, 60), _NEAR)
    return lambda quad: _edge_support(quad.astype(np.float32) * s, edges)


class Edges:
    """An image's gradients (at <= 1000 px, computed once) measured across a quad's sides: whether the card's
    own edges run along them (held) and where (snap)."""

    def __init__(self, img: np.ndarray) -> None:
        h, w = img.shape[:2]
        self.sc = min(1.0, 1000 / max(h, w))
        gray = cv2.cvtColor(cv2.resize(img, (round(w * self.sc), round(h * self.sc))) if self.sc < 1 else img,
                            cv2.COLOR_BGR2GRAY)
        gray = cv2.GaussianBlur(gray, (3, 3), 0).astype(np.float32)
        self.gx, self.gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)

    def _across(self, q: np.ndarray, i: int, at: np.ndarray, reach: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rays across side i of q (scaled px) at fractions `at` of its length, `reach` px either way: their
        points (m, k, 2), which lie wholly inside the image (m,), and the gradient across and along the side at
        each point (m, k; across > 0: brighter outward)."""
        a, b = q[i], q[(i + 1) % 4]
        t = (b - a) / max(np.linalg.norm(b - a), 1e-6)
        n = np.array([t[1], -t[0]])
        if np.dot((a + b) / 2 - q.mean(axis=0), n) < 0:
            n = -n  # outward
        steps = np.arange(-reach, reach + 1)
        ray = (a + (b - a) * at[:, None])[:, None, :] + steps[None, :, None] * n
        hh, ww = self.gx.shape
        x, y = np.round(ray[..., 0]).astype(int), np.round(ray[..., 1]).astype(int)
        inside = (x.min(axis=1) >= 0) & (y.min(axis=1) >= 0) & (x.max(axis=1) < ww) & (y.max(axis=1) < hh)
        x, y = np.clip(x, 0, ww - 1), np.clip(y, 0, hh - 1)
        gx, gy = self.gx[y, x], self.gy[y, x]
        return ray, inside, gx * n[0] + gy * n[1], gx * t[0] + gy * t[1]

    def held(self, quad: np.ndarray) -> float:
        """The least, over the quad's four sides, of the share of points along the side where one straight edge
        runs along it (the gradient across the side strong, along it weak, one sign the whole side: the card
        lighter or darker than what it lies on). A card's outline scores high on every side; a side run through
        text (a page's rows, the card's own) scores low whatever the edge density there: its strokes turn both
        ways."""
        q = quad.astype(np.float64) * self.sc
        reach = max(3, round(_HELD_REACH * float(np.linalg.norm(q[1] - q[0]))))
        shares = []
        for i in range(4):
            _, inside, across, along = self._across(q, i, _ALONG, reach)
            k = np.argmax(np.abs(across), axis=1)
            g_n, g_t = across[np.arange(len(k)), k], along[np.arange(len(k)), k]
            edge = inside & (np.abs(g_n) > _EDGE_GRADIENT) & (np.abs(g_n) > 2.0 * np.abs(g_t))
            shares.append(max(np.count_nonzero(edge & (g_n > 0)), np.count_nonzero(edge & (g_n < 0))) / len(k))
        return float(min(shares))

    def snap(self, quad: np.ndarray, reach: float = 0.035) -> np.ndarray:
        """The quad with each side moved onto the card's own edge nearby, where that edge is visible.

        A quad put right by the layout anchors is exact along the label column and the number strip but
        can swing at the far corner; the card's edge, searched a few percent of its width either side of
        each side (text stays further in), pins it. Sides with too little edge evidence stay as they were.
        """
        q = quad.astype(np.float64) * self.sc
        d = max(3, int(reach * np.linalg.norm(q[1] - q[0])))
        lines: list[tuple[np.ndarray, np.ndarray]] = []
        for i in range(4):
            ray, inside, across, _ = self._across(q, i, _SNAP_AT, d)
            g = np.abs(across)
            k = np.argmax(g, axis=1)
            top = g[np.arange(len(k)), k]
            edge = inside & (top > _EDGE_GRADIENT) & (top > 2.0 * np.median(g, axis=1))
            pts = ray[np.arange(len(k)), k][edge]
            if len(pts) < 8:  # edge not seen: keep the side where it was
                a, b = q[i], q[(i + 1) % 4]
                lines.append((a, (b - a) / max(np.linalg.norm(b - a), 1e-6)))
                continue
            vx, vy, x0, y0 = cv2.fitLine(pts.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append((np.array([x0, y0]), np.array([vx, vy])))
        out = q.copy()
        for i in range(4):  # corner i joins side i-1 and side i
            (p1, v1), (p2, v2) = lines[i - 1], lines[i]
            det = v1[0] * -v2[1] - v1[1] * -v2[0]
            if abs(det) < 1e-6:
                continue
            r = p2 - p1
            s1 = (r[0] * -v2[1] - r[1] * -v2[0]) / det
            corner = p1 + s1 * v1
            if np.linalg.norm(corner - q[i]) <= 2 * d:
                out[i] = corner
        out = (out / self.sc).astype(np.float32)
        return out if card_shaped(out) else quad


_HELD_REACH = 0.025  # how far either side of a quad's side its edge may run (held), in card widths (~2 mm)
_EDGE_GRADIENT = 15.0  # Sobel response across a side that counts as an edge
_SNAP_AT = np.linspace(0.12, 0.88, 25)  # where along a side snap looks for the edge


def snap_to_edges(img: np.ndarray, quad: np.ndarray, reach: float = 0.035) -> np.ndarray:
    """Edges(img).snap(quad): for a caller with one quad to snap in an image."""
    return Edges(img).snap(quad, reach)


def outline_view(img: np.ndarray, quad: np.ndarray, outlines: list[np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The card's own outline where one overlaps `quad` (IoU > 0.5), straightened with `quad`'s corner order
    (its upright), and its image->canonical map; None when no outline is seen. `outlines`: outline_quads(img)
    when the caller has them already."""
    best, best_iou = None, 0.5
    for q in outline_quads(img) if outlines is None else outlines:
        overlap = iou(q.astype(np.float32), quad.astype(np.float32))
        if overlap > best_iou:
            best, best_iou = q, overlap
    if best is None:
        return None
    # Start the outline's corners where the reader's upright top-left is.
    shifts = [np.roll(best, -k, axis=0) for k in range(4)]
    q = min(shifts, key=lambda s: float(np.linalg.norm(s - quad, axis=1).sum()))
    return straighten(img, q), homography(q)


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
