"""Pixel measurements on a straightened card (canonical 856 x 540, 10 px/mm): the raw numbers behind the
quality flags and the risk classifier. Everything is relative to the card itself (its own background, its own
ink), so that lighting, white balance and scale matter as little as possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from ..layout import BACK_BANDS, CANON_H, CANON_W, FRONT_BANDS, PX_PER_MM

_MARGIN = 0.04  # fraction of the card cut off all round: rounded corners and a slightly loose outline
_FFT = 256  # side of each spectrum window (canonical px)
_POOL = np.ones((7, 7), np.uint8)
_COVER_DIST = 28.0  # Lab distance (lightness halved) from the card's background: not the card's own print
SURROUND_MM = 8  # the margin around the card that CardPixels.surround shows (what the card lies on)


@dataclass
class CardPixels:
    """A straightened card and the derived images several measures share."""

    bgr: np.ndarray
    side: str
    field_rects: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # canonical x0, y0, x1, y1
    # The card with SURROUND_MM of what it lies on all round (canonical scale), when the caller has it.
    surround: np.ndarray | None = None

    def __post_init__(self) -> None:
        h, w = self.bgr.shape[:2]
        mx, my = int(w * _MARGIN), int(h * _MARGIN)
        self.inner = self.bgr[my:h - my, mx:w - mx]
        self.gray = cv2.cvtColor(self.inner, cv2.COLOR_BGR2GRAY)
        self.offset = (mx, my)
        # Half resolution is plenty for the global statistics (brightness, colour).
        self.small = cv2.resize(self.inner, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        self.small_gray = cv2.cvtColor(self.small, cv2.COLOR_BGR2GRAY)

    def text_rects(self, skip: tuple[str, ...] = ()) -> list[tuple[int, int, int, int]]:
        """Where text is: the read fields' boxes (but `skip`), else the layout's value bands (inner-image px)."""
        return [r for _, r in self.keyed_text_rects(skip)]

    def keyed_text_rects(self, skip: tuple[str, ...] = ()) -> list[tuple[str, tuple[int, int, int, int]]]:
        """text_rects with the field (or layout band) each is."""
        mx, my = self.offset
        rects = [(k, r) for k, r in self.field_rects.items() if k not in skip]
        if not rects:
            bands = FRONT_BANDS if self.side == "front" else BACK_BANDS
            for k, b in bands.items():
                x0 = max(b.x0, b.label_x1)
                rects.append((k, (int(x0 * PX_PER_MM), int(b.y0 * PX_PER_MM), int(b.x1 * PX_PER_MM),
                                  int(b.y1 * PX_PER_MM))))
        out = []
        gh, gw = self.gray.shape
        for k, (x0, y0, x1, y1) in rects:
            a, b = max(0, x0 - mx), max(0, y0 - my)
            c, d = min(gw, x1 - mx), min(gh, y1 - my)
            if c - a >= 8 and d - b >= 8:
                out.append((k, (a, b, c, d)))
        return out


def _percentiles(u8: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Percentiles of an 8-bit image from its histogram (much faster than sorting)."""
    cdf = np.cumsum(np.bincount(u8.ravel(), minlength=256)) / u8.size
    return [float(np.searchsorted(cdf, q / 100)) for q in qs]


def exposure(cp: CardPixels) -> dict[str, float]:
    """Brightness percentiles and clipped fractions over the card."""
    g = cp.small_gray
    p02, p10, p50, p90 = _percentiles(g, (2, 10, 50, 90))
    return {
        "p02": p02, "p10": p10, "p50": p50, "p90": p90,
        "clip_hi": float(np.count_nonzero(g >= 250)) / g.size,
        "clip_any": float(np.count_nonzero(cv2.max(cv2.max(cp.small[..., 0], cp.small[..., 1]),
                                                   cp.small[..., 2]) >= 254)) / g.size,
        "clip_lo": float(np.count_nonzero(g <= 12)) / g.size,
    }


def sharpness(cp: CardPixels) -> dict[str, float]:
    """Edge width (px, contrast-independent) and Laplacian variance over the text.

    Width = local contrast / steepest slope, at gradient ridges across the stronger edges of each text
    box (at least half its 95th-percentile contrast, so noise and faint print do not count). A sharp
    straightened card gives about 2.3 px; a focus blur of sigma s adds roughly 1.2 s.
    """
    g = cp.gray.astype(np.float32)
    rects = cp.text_rects()
    if not rects:
        return {"edge_width": float("nan"), "lap_var": float("nan")}
    widths: list[np.ndarray] = []
    laps: list[float] = []
    k = np.ones((11, 11), np.uint8)
    for x0, y0, x1, y1 in rects:
        roi = g[y0:y1, x0:x1]
        gx = cv2.Sobel(roi, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(roi, cv2.CV_32F, 0, 1, ksize=3) / 8
        mag = np.sqrt(gx * gx + gy * gy)
        contrast = cv2.dilate(roi, k) - cv2.erode(roi, k)
        ridge = mag >= cv2.dilate(mag, np.ones((3, 3), np.uint8)) - 1e-6
        floor = max(25.0, 0.5 * float(np.percentile(contrast, 95)))
        sel = ridge & (contrast >= floor) & (mag > 1)
        if sel.sum() >= 20:
            widths.append(contrast[sel] / mag[sel])
        laps.append(float(cv2.Laplacian(roi, cv2.CV_32F).var()))
    w = np.concatenate(widths) if widths else np.array([np.nan])
    return {"edge_width": float(np.median(w)), "lap_var": float(np.median(laps))}


def glare(cp: CardPixels) -> dict[str, float]:
    """How much a highlight lifts the ink of a field towards the background.

    Each field's box is cut into 4 mm tiles; a tile's ink is its 1st percentile, its background the 90th. (The
    5th percentile lands beside the strokes of a thin or small face, which cover only a few per cent of a tile:
    such a field then read as washed out over its whole length. The 1st still lies on the strokes' cores.)
    Lift = (ink - card ink) / (card background - card ink), with the card's ink from its darkest tiles in the
    same face: the number strip's own for the number, the other values' for them (a light or thin face for the
    values beside a bold number strip is no glare). A tile's ink is the darker of its own and its right
    neighbour's (the last tile's: its left one's): a tile in the gap between the birth date's groups (1990 年 1
    月) holds no stroke, which is no ink, not washed-out ink; a highlight, 10 mm or more across, lifts both. The
    measure is the largest mean lift over a field (a glare washes out part of a line, not a tile's corner).
    """
    g = cp.gray.astype(np.float32)
    t = int(4 * PX_PER_MM)
    inks, bgs, clips, owner = [], [], [], []
    # Sex and nation are one or two characters, and the reader's nation box can hold its blue label: their
    # ink level says little. Lines of text (name, birth, address, number; authority, validity) do.
    keyed = cp.keyed_text_rects(skip=("sex", "nation"))
    for i, (_, (x0, y0, x1, y1)) in enumerate(keyed):
        for tx in range(x0, x1, t):
            roi = g[y0:y1, tx:min(x1, tx + t)]
            if roi.shape[1] < t // 2:
                continue
            lo, hi = np.percentile(roi, (1, 90))
            inks.append(lo)
            bgs.append(hi)
            clips.append(float(np.mean(roi >= 250)))
            owner.append(i)
    if len(inks) < 3:
        return {"glare_lift": float("nan"), "glare_clip": float("nan")}
    ink, bg, own = np.array(inks), np.array(bgs), np.array(owner)
    bg_ref = float(np.median(bg))
    paired = ink.copy()
    for i in np.unique(own):
        at = np.flatnonzero(own == i)
        if len(at) > 1:
            pair = np.minimum(ink[at[:-1]], ink[at[1:]])
            paired[at] = np.r_[pair, pair[-1]]
    strip = np.array([keyed[i][0] == "number" for i in owner])
    lift = np.zeros_like(ink)
    for face in (strip, ~strip):
        if face.any():
            ink_ref = float(np.percentile(ink[face], 10))
            lift[face] = (paired[face] - ink_ref) / max(bg_ref - ink_ref, 1.0)
    per_field = [float(lift[own == i].mean()) for i in np.unique(own)]
    return {"glare_lift": max(per_field), "glare_clip": float(max(clips))}


def colour(cp: CardPixels) -> dict[str, float]:
    """Chroma relative to the card's own background (a grey copy has none), and the background's tint.

    Quarter resolution (214 x 135) is plenty for these whole-card statistics.
    """
    q = cv2.resize(cp.small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(q, cv2.COLOR_BGR2LAB)
    lum = lab[..., 0]
    bright = lum >= _percentiles(lum, (50,))[0]  # the card's light background decides its white point
    a0 = _percentiles(lab[..., 1][bright], (50,))[0] - 128
    b0 = _percentiles(lab[..., 2][bright], (50,))[0] - 128
    a = lab[..., 1].astype(np.float32) - (a0 + 128)
    b = lab[..., 2].astype(np.float32) - (b0 + 128)
    c = np.minimum(cv2.magnitude(a, b), 255).astype(np.uint8)
    p90, p99 = _percentiles(c, (90, 99))
    sat = cv2.cvtColor(q, cv2.COLOR_BGR2HSV)[..., 1]
    # Chromaticity (channel shares) against the background's: an illuminant's cast multiplies all levels
    # alike, so grey ink on a copy keeps the paper's shares while blue labels, skin or the red emblem do not.
    f = q.astype(np.float32)
    tot = f.sum(axis=2)
    lit = tot >= 150  # dark pixels' shares are mostly noise
    shares = f / np.maximum(tot, 1)[..., None]
    ref = np.median(shares[tot >= np.median(tot)], axis=0)
    d = np.abs(shares - ref).sum(axis=2)
    dl = d[lit] if lit.any() else np.zeros(1, np.float32)
    return {
        "ink_chroma": _ink_chroma(cp.small),
        "chrom_p99": float(np.percentile(dl, 99)) if dl.size else 0.0,
        "chrom_frac": float(np.mean(dl > 0.08)) if dl.size else 0.0,
        "chroma_p99": p99,
        "chroma_p90": p90,
        "chroma_frac": float(np.count_nonzero(c > 12)) / c.size,
        "sat_p90": _percentiles(sat, (90,))[0],
        "bg_a": a0,
        "bg_b": b0,
    }


def _ink_chroma(bgr: np.ndarray) -> float:
    """Share of the ink whose colour differs from the paper right around it (channel shares apart by > 0.08).

    Per pixel, at half resolution (5 px/mm): a thin blue label keeps its colour here, where a whole-card
    statistic at a coarser scale dilutes it into the background (a pale front whose only colour is its labels
    then looks grey). A grey copy's ink is the paper's grey: about 0; an illuminant's cast scales ink and paper
    alike. NaN when there is too little ink to tell (a dark or blank card)."""
    f = bgr.astype(np.float32)
    g = f.mean(axis=2)
    paper = cv2.dilate(f, np.ones((9, 9), np.uint8))  # the lightest level of each channel within ~1.8 mm
    ink = (paper.mean(axis=2) - g > 40) & (g > 25)
    if int(ink.sum()) < 50:
        return float("nan")
    shares = f / np.maximum(f.sum(axis=2), 1)[..., None]
    paper_shares = paper / np.maximum(paper.sum(axis=2), 1)[..., None]
    d = np.abs(shares - paper_shares).sum(axis=2)[ink]
    return float(np.mean(d > 0.08))


def outline(cp: CardPixels) -> dict[str, float]:
    """A copier's print of the card's edge: a thin dark line with flat paper right outside it.

    A photographed card's edge is a step onto what it lies on, or onto its drop shadow, which fades out over
    millimetres; a copy of a card (colour or grey) prints the edge, or the scan's frame, as a line under a
    millimetre wide, and the paper is flat again within a millimetre past it. Per side, a profile across the
    edge (median over its middle 60 %) from 3 mm inside to 6 mm outside; the line's depth below the lighter
    of inside and the paper 0.7-1.3 mm past it, less twice the roughness beyond and less how much lighter it
    is further out (a shadow fading). The measure is the second
    lowest of the four sides (three sides must show it: a card on a white sheet may show something like it
    on one). NaN without a surround."""
    if cp.surround is None:
        return {"outline": float("nan")}
    g = cv2.cvtColor(cp.surround, cv2.COLOR_BGR2GRAY).astype(np.float32)
    m = int(SURROUND_MM * PX_PER_MM)
    hh, ww = g.shape
    h, w = hh - 2 * m, ww - 2 * m
    mm = PX_PER_MM
    inside, outside = int(3 * mm), int(6 * mm)
    a0, a1, b0, b1 = int(0.2 * w), int(0.8 * w), int(0.2 * h), int(0.8 * h)
    # Each profile runs from 3 mm inside the edge outwards (index 3 * mm is the outline's edge).
    profiles = [
        np.median(g[m - outside:m + inside, m + a0:m + a1][::-1], axis=1),
        np.median(g[m + h - inside:m + h + outside, m + a0:m + a1], axis=1),
        np.median(g[m + b0:m + b1, m - outside:m + inside].T[::-1], axis=1),
        np.median(g[m + b0:m + b1, m + w - inside:m + w + outside].T, axis=1),
    ]
    scores = []
    for p in profiles:
        best = 0.0
        for i in range(int(1.5 * mm), int(6 * mm)):  # the line from 1.5 mm inside to 3 mm outside the outline
            lo = p[i]
            if lo > p[i - 1] or lo > p[i + 1]:
                continue
            before = float(p[max(0, i - int(1.5 * mm)):i - 3].max())
            after = float(p[i + int(0.7 * mm):i + int(1.3 * mm)].mean())
            beyond = p[i + int(1.3 * mm):i + int(3 * mm)]
            # A shadow is still darker there than further out; paper is not.
            fade = max(0.0, float(np.median(beyond)) - after)
            best = max(best, min(before, after) - float(lo) - 2 * float(beyond.std()) - 3 * fade)
        scores.append(best)
    return {"outline": sorted(scores)[1]}


@lru_cache(maxsize=2)
def _rings(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radius (cycles/px), ring index and ring sizes of an n x n centred spectrum."""
    y, x = np.mgrid[0:n, 0:n] - n // 2
    r = np.hypot(x, y) / n
    ids = np.minimum((r * n).astype(np.int64), n // 2)
    return r, ids, np.bincount(ids.ravel(), minlength=n // 2 + 1)


@lru_cache(maxsize=2)
def _hann(n: int) -> np.ndarray:
    return np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)


def _excess(win: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Log spectrum of a window minus its ring means (how far each frequency stands above its radius's
    typical level), and the plain magnitude."""
    _, ids, sizes = _rings(n)
    f = cv2.dft((win - win.mean()) * _hann(n), flags=cv2.DFT_COMPLEX_OUTPUT)
    spec = np.fft.fftshift(cv2.magnitude(f[..., 0], f[..., 1]))
    s = np.log1p(spec)
    ring_mean = np.bincount(ids.ravel(), weights=s.ravel(), minlength=n // 2 + 1) / np.maximum(sizes, 1)
    return s - ring_mean[ids], spec


def _local_excess(win: np.ndarray, n: int) -> np.ndarray:
    """Log spectrum of a window minus its 5 x 5 median: how far each frequency stands above its immediate
    neighbours. A grid's peak is a point; text, guilloche and a directional (motion) blur shape the spectrum
    in broad bands, which a ring mean does not follow (a motion blur leaves the frequencies along its
    perpendicular untouched: far above their ring's mean in every window, like a grid) but a local median does."""
    f = cv2.dft((win - win.mean()) * _hann(n), flags=cv2.DFT_COMPLEX_OUTPUT)
    s = np.log1p(np.fft.fftshift(cv2.magnitude(f[..., 0], f[..., 1]))).astype(np.float32)
    return s - cv2.medianBlur(s, 5)


def periodicity(cp: CardPixels) -> dict[str, float]:
    """Screens leave a periodic grid (sub-pixels) and its moire: spectral peaks that text and the card's
    guilloche (smooth, a few mm per period) do not make.

    Grey: 8 windows of 128 px over the card; fft_peak is the strongest single peak over its neighbours
    (_local_excess), fft_consistent the strongest peak of the windows' mean (locally pooled) excess: a grid puts
    its peak at about the same frequency everywhere, text and guilloche do not. Chroma (blue minus red, which
    the sub-pixel stripes alternate): one 256 px window.
    """
    g = cp.gray
    gh, gw = g.shape
    n = 128
    r, _, _ = _rings(n)
    band = r >= 0.06  # periods under 1.7 mm: finer than the guilloche's waves
    acc = np.zeros((n, n), np.float32)
    peaks = []
    # A 2 x 4 grid of windows spread over the card (overlapping where the card is not a whole multiple).
    ys = np.linspace(0, gh - n, 2).astype(int) if gh >= n else np.array([], int)
    xs = np.linspace(0, gw - n, 4).astype(int) if gw >= n else np.array([], int)
    for y0 in ys:
        for x0 in xs:
            ex = _local_excess(g[y0:y0 + n, x0:x0 + n].astype(np.float32), n)
            ex = np.where(band, ex, 0).astype(np.float32)
            peaks.append(float(ex.max()))
            # Perspective makes a grid's aliased frequency drift across the card: pool each peak over
            # its 7 x 7 frequency neighbourhood before averaging the windows.
            acc += cv2.dilate(ex, _POOL)
    chroma = cp.inner[..., 0].astype(np.float32) - cp.inner[..., 2].astype(np.float32)
    n2 = _FFT
    r2, _, _ = _rings(n2)
    hi = r2 >= 0.18  # periods under ~5.5 px (0.55 mm): finer than any print on the card
    mid = (r2 >= 0.06) & (r2 < 0.18)  # 0.55-1.7 mm: where coarser moire lands
    cpk, cmpk = [], []
    for cx in (gw // 2,):  # one window at the middle of the card: labels, text and background
        x0 = max(0, min(gw - n2, cx - n2 // 2))
        y0 = max(0, (gh - n2) // 2)
        win = chroma[y0:y0 + n2, x0:x0 + n2]
        if win.shape != (n2, n2):
            continue
        ex, _ = _excess(win, n2)
        cpk.append(float(ex[hi].max()))
        cmpk.append(float(ex[mid].max()))
    return {
        "fft_peak": max(peaks) if peaks else float("nan"),
        "fft_consistent": float(acc.max()) / len(peaks) if peaks else float("nan"),
        "chroma_peak": max(cpk) if cpk else float("nan"),
        "chroma_peak_mid": max(cmpk) if cmpk else float("nan"),
    }


def texture(cp: CardPixels) -> dict[str, float]:
    """Toner speckle (isolated dark dots on the light background) and flat, noise-free patches over text
    (digitally pasted fields), against the card's own noise level."""
    g = cp.gray.astype(np.float32)
    # Speckle: small dark blobs well below their neighbourhood, away from text-dense areas.
    bh = cv2.morphologyEx(cp.gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    spots = (bh > 40).astype(np.uint8)
    # A speck is a small blob with no other ink within 6 px (strokes of text come in clusters): grown by
    # 6 px, its group holds only its own 2-30 pixels.
    m, groups = cv2.connectedComponents(cv2.dilate(spots, np.ones((13, 13), np.uint8)))
    sizes = np.bincount(groups[spots > 0], minlength=m)[1:]
    isolated = int(np.count_nonzero((sizes >= 2) & (sizes <= 30)))
    res = g - cv2.blur(g, (3, 3))  # fine residual: sensor noise, print texture, edges
    # Noise of the background inside each text box vs the card's: a pasted, noise-free patch stands out.
    # Background = away from strokes (low local range) and not clipped.
    k3 = np.ones((3, 3), np.uint8)
    rng8 = cv2.dilate(cp.gray, k3) - cv2.erode(cp.gray, k3)
    calm = (rng8 < 10) & (cp.gray > 20) & (cp.gray < 248)
    absres = np.abs(res)
    # |res| is a multiple of 1/9 (grey levels minus a 3x3 mean): its median from a histogram of 9 * |res|.
    ninths = np.minimum(np.rint(absres[calm] * 9), 65535).astype(np.int64)
    card_bg = float(np.searchsorted(np.cumsum(np.bincount(ninths)), ninths.size / 2)) / 9 \
        if ninths.size > 500 else float("nan")
    field_ratio = float("nan")
    if cp.field_rects and card_bg == card_bg and card_bg > 0:
        ratios = []
        for x0, y0, x1, y1 in cp.text_rects():
            m = calm[y0:y1, x0:x1]
            if m.sum() >= 40:
                ratios.append(float(np.median(absres[y0:y1, x0:x1][m])) / card_bg)
        if ratios:
            field_ratio = min(ratios)
    return {
        "speckle": isolated / (g.size / PX_PER_MM**2) * 100,  # specks per 100 mm² of card
        "noise": card_bg,
        "field_noise": field_ratio,
    }


def cover(cp: CardPixels) -> dict[str, float]:
    """The largest solid thing over the card that reaches in from its edge (a thumb, a pen, a paper).

    At 2.5 px/mm, pixels whose colour is far from the card's own background (lightness counted half, and
    against the local light: lighting gradients and cast shadows change it) are opened with a 3 mm disc,
    which removes text, lines and the guilloche; what remains and touches the card's edge is foreign to the
    print: the portrait and the emblem stand clear of the edge. Returns its share of the card and its smaller
    extent in mm.
    """
    s = 0.25
    small = cv2.resize(cp.bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    # Lightness against the light falling on the card's paper around each pixel (the brightest paper-coloured
    # pixel within ~6 mm, smoothed): a cast shadow darkens the paper and its print alike and is gone from it; a
    # thumb is not paper-coloured, so its light comes from the paper beside it and it stays darker.
    chroma = np.hypot(lab[..., 1] - np.median(lab[..., 1]), lab[..., 2] - np.median(lab[..., 2]))
    paper = np.where(chroma < 10, lab[..., 0], 0).astype(np.float32)
    light = cv2.dilate(paper, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31)))
    light = cv2.GaussianBlur(light, (0, 0), 6)
    level = float(np.percentile(light, 50))
    light = np.where(light > 0.3 * level, light, level)  # no paper within reach: the card's typical light
    lab[..., 0] = lab[..., 0] / np.maximum(light, 1) * level
    bright = lab[..., 0] >= np.percentile(lab[..., 0], 50)
    ref = np.median(lab[bright], axis=0)
    d = lab - ref
    dist = np.sqrt((0.5 * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))  # ~3 mm at 2.5 px/mm
    mask = cv2.morphologyEx((dist > _COVER_DIST).astype(np.uint8), cv2.MORPH_OPEN, k)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    h, w = mask.shape
    e = max(1, round(1.5 * PX_PER_MM * s))  # "touches the edge": within 1.5 mm of it
    best_share, best_extent = 0.0, 0.0
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if x > e and y > e and x + bw < w - e and y + bh < h - e:
            continue
        share = area / float(h * w)
        if share > best_share:
            best_share, best_extent = share, min(bw, bh) / (PX_PER_MM * s)
    return {"cover_share": float(best_share), "cover_extent_mm": float(best_extent)}


def measure(cp: CardPixels) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in (exposure, sharpness, glare, colour, periodicity, texture, cover, outline):
        out.update(f(cp))
    return out


__all__ = ["CANON_H", "CANON_W", "CardPixels", "measure"]
