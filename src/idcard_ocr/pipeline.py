"""decode -> locate -> read fields -> normalize/check -> Reading."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from . import normalize as nz
from .boxes import quad_list, to_boxes
from .decode import WORK_SIDE, Decoded, decode_with_meta
from .engine import Engine, Line, get_engine
from .fields import CardText, cut_fields, read_side, warp_quad_back
from .idnumber import birth_of, checksum_ok, lookup_area, sex_of
from .layout import CANON_H, CANON_W, FRONT_ANCHORS, GREEN_A, PX_PER_MM, REFIT_TOLERANCE_MM
from .locate import (
    Edges,
    card_shaped,
    homography,
    inside_fraction,
    iou,
    outline_quads,
    outline_support,
    outline_view,
    rotation_of,
    snap_to_edges,
    straighten,
)
from .model import BACK_FIELDS, FRONT_FIELDS, Card, Checks, Field, Reading
from .orient import detect_lines, hypotheses, key_kind, long_lines, place_by_key_lines, place_known, placed_card_areas
from .othertypes import TYPE_FIELDS, read_labelled
from .refine import fit
from .region import read_region

if TYPE_CHECKING:
    from .checks.cardtype import CardKind

ImageInput = bytes | bytearray | str | os.PathLike | np.ndarray
_MAX_OUTLINES = 3  # outline candidates tried before placing cards from key lines
_LOST_MM = 8.0  # anchors this far off (twice a print's ±4 mm) after refitting: the quad is not the card's outline
# A key line this much shorter or longer than printed (text is printed within ±10 %): the quad is not the
# card's outline (the screen around it, a page), so the cards are placed by their key lines too.
_SCALE = (0.8, 1.25)
_MIN_RANKED = 4  # anchors a fit needs before its distance from the layout can rank it
_SAME_QUAD_IOU = 0.9  # a candidate this close to a quad already read to no card would read the same
_SAME_LINE_IOU = 0.5  # a line this close to one already recognized as no key line (in a quad read to no card)
_PRINT_TOLERANCE_MM = 4.0  # how far a printed row may sit from our layout's place
_GROW_MARGIN_MM = 8.0  # a quad grown to take in a cut-off row takes this much more (a name row is ~5 mm high)
# A quad with this much of each side on the card's edge (Edges.held) is held by it; a refit of it this much
# less held on its worst side leaves the edge.
_HELD, _UNHELD = 0.7, 0.3
_SETTLED_ANCHORS = {"front": 6, "back": 6}  # fewer anchors than this cannot vouch for a straight card


def _inner_pairs_first(quads: list[np.ndarray]) -> list[np.ndarray]:
    """The outlines in the order to read them: two of a size lying apart inside a larger one (both sides of a
    card copied on a page, two cards on a tray) before it. The larger one (largest first, as found) is the page:
    read first, it finds no card and costs a detection."""
    out = list(quads)
    for big in quads:
        area = cv2.contourArea(big.astype(np.float32))
        inner = [q for q in out
                 if q is not big and _within(q, big) and cv2.contourArea(q.astype(np.float32)) < 0.5 * area]
        pair = next(((a, b) for i, a in enumerate(inner) for b in inner[i + 1:]
                     if not _overlaps(a, [b]) and 0.5 < cv2.contourArea(a) / max(cv2.contourArea(b), 1.0) < 2.0), None)
        if pair is not None:
            rest = [q for q in out if not any(q is p for p in pair)]
            at = next(i for i, q in enumerate(rest) if q is big)
            out = rest[:at] + list(pair) + rest[at:]
    return out


def _within(q: np.ndarray, outer: np.ndarray) -> bool:
    """Most of quad q (90 %) lies inside `outer`."""
    inter, _ = cv2.intersectConvexConvex(q.astype(np.float32), outer.astype(np.float32))
    return inter > 0.9 * cv2.contourArea(q.astype(np.float32))


def _overlaps(q: np.ndarray, others: list[np.ndarray]) -> bool:
    for o in others:
        inter, _ = cv2.intersectConvexConvex(q.astype(np.float32), o.astype(np.float32))
        if inter > 0.3 * min(cv2.contourArea(q), cv2.contourArea(o)):
            return True
    return False


def _to_card(shape: tuple[int, ...], quad: np.ndarray, ct: CardText, outline: np.ndarray) -> Card:
    """The Card: field boxes mapped back through the quad they were read in, corners from `outline`.

    A field whose box reaches the image border may run on beyond it (a card cut off by the frame): what
    was read of it is not the value, so it is left out.
    """
    h_inv = np.linalg.inv(homography(quad))
    final = np.roll(outline, 2, axis=0) if ct.flipped else outline
    fields = {}
    for k, f in ct.fields.items():
        box = warp_quad_back(f.quad, h_inv, ct.flipped)
        if _at_border(box, shape):
            continue
        fields[k] = Field(value=f.value, confidence=round(f.confidence, 4), box=quad_list(box))
    return Card(
        side=ct.side,  # type: ignore[arg-type]
        rotation=rotation_of(final),  # type: ignore[arg-type]
        quad=quad_list(final),
        fields=fields,
    )


def _at_border(box: np.ndarray, shape: tuple[int, ...], margin: float = 2.0) -> bool:
    h, w = shape[:2]
    return bool(box[:, 0].min() < margin or box[:, 1].min() < margin or box[:, 0].max() > w - 1 - margin
                or box[:, 1].max() > h - 1 - margin)


def _quad_of(to_canon: np.ndarray) -> np.ndarray:
    """The image quad that an image -> canonical map straightens onto the whole card."""
    corners = np.array([[0, 0], [CANON_W, 0], [CANON_W, CANON_H], [0, CANON_H]], np.float32).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(corners, np.linalg.inv(to_canon)).reshape(4, 2)


def _corrected_quad(quad: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """The image quad whose straightening equals `transform` applied after straightening `quad`."""
    in_old = _quad_of(transform).reshape(-1, 1, 2)  # the card's corners in the old straightened image
    return cv2.perspectiveTransform(in_old, np.linalg.inv(homography(quad))).reshape(4, 2)


Fitness = tuple[int, float]  # (layout anchors seen, -their RMS distance in mm): ranks readings of one card


def read_quad(img: np.ndarray, quad: np.ndarray, eng: Engine, grey_retry: bool = True,
              seen: list[tuple[np.ndarray, str]] | None = None, edges: Edges | None = None
              ) -> tuple[np.ndarray, CardText, np.ndarray, Fitness] | None:
    """Read the card under a candidate quad, re-straightening it onto the layout's anchors when off.

    Returns the quad the fields were read in, what was read, the card's outline snapped to its edges, and
    how well the layout fits there (to choose between nested outlines: a card and the screen showing it).
    seen: collects (image quad from the text's start, text) of each line recognized while looking for the
    card's key lines.
    edges: Edges(img), when the caller has it.
    """
    support: Callable[[np.ndarray], float] | None = None
    edges = edges or Edges(img)
    first = straighten(img, quad)
    lines = detect_lines(first, eng)
    read: list[tuple[int, str, bool]] = []
    hyps = hypotheses(first, eng, lines, read)
    if seen is not None and read:
        back = np.linalg.inv(homography(quad))
        for i, text, flipped in read:
            q = cv2.perspectiveTransform(lines[i].quad.reshape(-1, 1, 2).astype(np.float32), back).reshape(4, 2)
            seen.append((np.roll(q, 2, axis=0) if flipped else q, text))  # from the text's start
    if not hyps and len(lines) < 3 and grey_retry and img.ndim == 3 and _moire(first):
        # A screen's colour moire can hide every line from the detector; in grey its stripes mostly cancel.
        grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        return read_quad(grey, quad, eng, grey_retry=False, seen=seen, edges=edges)
    for h in hyps:
        best = (quad, None, h.boxes, h.fit, h.known)  # quad, its canonical image (None: not made), lines, fit, texts
        for _ in range(3):
            q, _, _, f, _ = best
            settled = f.residual_mm < REFIT_TOLERANCE_MM and f.anchors >= _SETTLED_ANCHORS[h.side]
            if f.transform is None or settled:
                break
            q2 = _corrected_quad(q, f.transform)
            # Other readings of where the card is: the perspective fit, and the affine one snapped to the
            # card's own edges. The card's edges decide, with a margin in favour of the plain fit.
            others = [edges.snap(q2)]
            if f.perspective is not None:
                others.append(_corrected_quad(q, f.perspective))
            others = [o for o in others if card_shaped(o) and not np.allclose(o, q2, atol=2.0)]
            if others:
                support = support or outline_support(img)
                score = support(q2) + 0.1
                best_other = max(others, key=support)
                if support(best_other) > score:
                    q2 = best_other
            if (on_edges := edges.held(q)) >= _HELD and edges.held(q2) <= on_edges - _UNHELD:
                # The card's own edges run along every side of the quad and not of the refit: what the layout
                # calls off is where this card was printed (within print tolerance), not where it lies.
                break
            card = straighten(img, q2)
            # (Carrying the lines already found into the re-straightened card instead of detecting again read
            # the same fields on ../shared/external/dev, but their boxes, a little looser, flipped the glare
            # check on two originals: the card is detected again.)
            boxes = to_boxes(detect_lines(card, eng), h.flipped)
            f2 = fit(boxes, h.side, h.flipped)
            if (f2.anchors, -f2.residual_mm) <= (f.anchors, -f.residual_mm):
                break  # no better (more anchors seen, else closer): keep what we had
            if f2.residual_mm > REFIT_TOLERANCE_MM:
                # The layout still does not describe this card (printed off our layout): its own edges say
                # more than a fit to our anchors, so the refit only stands where they agree with it.
                support = support or outline_support(img)
                if support(q) > support(q2) + 0.1:
                    break
            best = (q2, card, boxes, f2, {})
        # The layout only improved the quad: whether this is a card is for its labels and content to say.
        # A refit led astray (a watermark taken for the number strip) falls back to the outline as found.
        # Of the two, the one whose read holds more of the side's fields (a refit that cut off the top row).
        tries = [(*best[:3], best[4])] if best[0] is not quad else []
        got: tuple[np.ndarray, CardText, np.ndarray, Fitness] | None = None
        for q, card, boxes, known in [*tries, (quad, None, h.boxes, h.known)]:
            if not card_shaped(q) or inside_fraction(q, img.shape) < 0.6:
                continue
            ct = read_side(straighten(img, q) if card is None else card, h.side, h.flipped, boxes, eng, known)
            if ct is not None and (got is None or _held(ct) > _held(got[1])):
                f = best[3] if q is best[0] else h.fit
                got = (q, ct, edges.snap(q), (f.anchors, -f.residual_mm))
            if got is not None and _held(got[1]) >= len(FRONT_FIELDS if h.side == "front" else BACK_FIELDS):
                break
        if got is not None:
            return got
    if hyps and {"number", "temp_title"} & set(hyps[0].keys) and _green(straighten(img, quad)):
        # A green card with a whole ID number or the temporary title that does not fit the resident layout: a
        # temporary card, read later by its labels (othertypes.py) once the checks have typed it.
        return quad, CardText("front", hyps[0].flipped), edges.snap(quad), (0, -float("inf"))
    return None


def _is_outline(ct: CardText, f: Fitness, held: bool = False) -> bool:
    """The quad a card was read in is its outline, not the screen or page around it (nor a quad that took in
    background): settled on the layout, or its key line as long as printed with the anchors not far off or the
    card's own edges along every side (held: a copy whose note hides most anchors); never with the number strip
    cut at its side."""
    if ct.strip_cut:
        return False  # the number strip runs on past the quad's side: the card is wider
    if _settled(f, ct.side):
        return True
    return (ct.scale is None or _SCALE[0] < ct.scale < _SCALE[1]) and ((f[1] > -_LOST_MM and f[0] >= _MIN_RANKED)
                                                                        or held)


def _held(ct: CardText) -> float:
    """How much of its side a read holds: its fields, a field on a row the quad cut counting half."""
    return len(ct.fields) - 0.5 * cut_fields(ct)


def _settled(f: Fitness, side: str) -> bool:
    return f[0] >= _SETTLED_ANCHORS[side] and -f[1] < REFIT_TOLERANCE_MM


def _better(a: Fitness, b: Fitness) -> bool:
    """a fits the layout better: closer, among fits with enough anchors to tell; else more anchors."""
    if min(a[0], b[0]) >= _MIN_RANKED:
        return a[1] > b[1]
    return a > b


def _top_cut_mm(ct: CardText) -> float:
    """How far above the quad's top a front's name row lies (0: not cut), when the name is missing and the
    first row read sits higher than any print puts it (its layout place less the ±4 mm tolerance)."""
    if ct.side != "front" or "name" in ct.fields:
        return 0.0
    for key in ("sex", "birth"):
        if key in ct.fields:
            cy = float(ct.fields[key].quad[:, 1].mean()) / PX_PER_MM
            return max(0.0, FRONT_ANCHORS[f"{key}_cy"] - _PRINT_TOLERANCE_MM - cy)
    return 0.0


def _grown(quad: np.ndarray, mm: float, flipped: bool) -> np.ndarray:
    """The image quad of the card read in `quad`, grown by `mm` above its upright top."""
    g = mm * PX_PER_MM
    top, bottom = (0.0, CANON_H + g) if flipped else (-g, CANON_H)
    rect = np.array([[0, top], [CANON_W, top], [CANON_W, bottom], [0, bottom]], np.float32).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(rect, np.linalg.inv(homography(quad))).reshape(4, 2)


def _moire(card: np.ndarray, limit: float = 3.0) -> bool:
    """Colour varying at a few pixels' scale (mean |a*|+|b*| off its 3 px blur above ``limit``): a screen's
    moire. Printed cards, desks and paper measure at most ~2.4 on ../shared/external/dev, screens 3.7 and up
    on ours and theirs: only there can a grey copy show lines the colour image hid."""
    lab = cv2.cvtColor(card, cv2.COLOR_BGR2LAB).astype(np.float32)
    hf = sum(float(np.mean(np.abs(c - cv2.GaussianBlur(c, (0, 0), 3)))) for c in (lab[..., 1], lab[..., 2]))
    return hf > limit


def _green(card: np.ndarray) -> bool:
    """The card's light background is green (Lab a* of the brighter half below GREEN_A)."""
    lab = cv2.cvtColor(cv2.resize(card, (107, 68), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2LAB)
    bright = lab[..., 0] >= np.median(lab[..., 0])
    return float(np.median(lab[..., 1][bright])) - 128 <= GREEN_A


def _find_cards(img: np.ndarray, eng: Engine, timings: dict[str, float]
                ) -> tuple[list[tuple[Card, CardText]], list[np.ndarray], list[tuple[np.ndarray, str]]]:
    """The cards found, every card outline seen (outline_quads: kept for a re-read, see _read_as), and the
    quads read to no card with the text of the lines recognized in them."""
    found: list[tuple[Card, CardText]] = []
    quads: list[np.ndarray] = []

    fitness: list[Fitness] = []
    held: list[bool] = []  # each card's outline held by its edges (Edges.held)
    unread: list[tuple[np.ndarray, str]] = []  # quads read to no card, with the text read in them
    bare: list[tuple[np.ndarray, CardText, np.ndarray, Fitness]] = []  # backs read by their titles alone
    read_lines: list[np.ndarray] = []  # image quads of the lines read in them that are no key line
    made: list[Edges] = []

    def edges() -> Edges:  # the image's Edges, made once, when a first quad is read
        if not made:
            made.append(Edges(img))
        return made[0]

    def outline(i: int) -> bool:  # card i was read on its outline
        return _is_outline(found[i][1], fitness[i], held[i])

    def attempt(cands: list[np.ndarray], placed_here: bool = False) -> None:  # reads each new candidate; fills
        for q in cands:  # found and quads (placed_here: the candidates were placed by a card read just before)
            if len(found) >= 2:
                return
            hit = next((i for i, o in enumerate(quads) if _overlaps(q, [o])), None)
            if hit is not None and outline(hit):
                continue  # that card's quad is its outline: an overlapping one cannot do better
            if hit is None and quads and not 0.5 < cv2.contourArea(q) / cv2.contourArea(quads[0]) < 2.0:
                continue  # a second card (the other side on a copy) is the same size as the first
            if any(iou(q, f) > _SAME_QUAD_IOU for f, _ in unread):
                continue  # this quad (an outline, then its card placed again by a key line) was read: nothing
            seen: list[tuple[np.ndarray, str]] = []
            got = read_quad(img, q, eng, seen=seen, edges=edges())
            if got is not None and got[1].side == "back" and not got[1].fields:
                bare.append(got)  # a back by its titles alone: taken only if no card reads better (below)
                got = None
            if got is None:
                unread.append((q, "".join(t for _, t in seen)))
                # (A line of many digits may be the number strip misread through a quad that is not the card's,
                # cut or skewed: it is recognized again as it lies in the image.)
                read_lines.extend(lq for lq, t in seen if key_kind(t) is None and not _many_digits(t))
                continue
            if (short := _top_cut_mm(got[1])) > 0:
                # The quad (placed from a key line, its scale off) cut the card's top: read it grown upward.
                # Kept only when it adds to the read and agrees with it on every field both hold.
                again = read_quad(img, _grown(got[0], short + _GROW_MARGIN_MM, got[1].flipped), eng, edges=edges())
                if again is not None and again[1].side == got[1].side and _held(again[1]) > _held(got[1]) \
                        and all(again[1].fields[k].value == f.value for k, f in got[1].fields.items()
                                if k in again[1].fields):
                    got = again
            entry = (_to_card(img.shape, *got[:3]), got[1])
            on_edges = edges().held(got[2]) >= _HELD
            if hit is not None:
                # Another outline of the same card (the card inside the screen showing it): the layout ranks,
                # among reads that hold as much of the side (a card placed again from its number strip under
                # perspective, its fit too thin to rank, can cut a row the first read held).
                if _better(got[3], fitness[hit]) and got[1].side == found[hit][1].side \
                        and _held(got[1]) >= _held(found[hit][1]):
                    quads[hit], found[hit], fitness[hit] = got[2], entry, got[3]
                    held[hit] = on_edges
                    follow(hit, seen, placed_here)
                continue
            quads.append(got[2])
            found.append(entry)
            fitness.append(got[3])
            held.append(on_edges)
            follow(len(found) - 1, seen, placed_here)
            if len(found) >= 2:
                return

    def follow(i: int, seen: list[tuple[np.ndarray, str]], placed_here: bool) -> None:
        if not placed_here and not outline(i):
            # Card i was read in an outline not its own (the screen showing it): the key lines that read it,
            # where they lie in the image, place the card itself before any other outline or search is tried.
            attempt(place_known(seen), placed_here=True)

    longs: list[Line] | None = None  # the image's long lines: one full-frame detection, made when first needed
    placed: list[Line] = []  # those already recognized, and the cards they place attempted

    def by_key_lines() -> None:  # places cards by key lines found anywhere in the image (orient)
        nonlocal longs
        if longs is None:
            longs = long_lines(img, eng)
        # The longest line alone first (on most images the number strip or a title: its card is found and every
        # other line inside that card's outline can place no other card), then the rest together.
        for chunk in (longs[:1], longs[1:]):
            todo = [ln for ln in chunk if not any(ln is p for p in placed) and not _on_found(ln) and _may_place(ln)
                    and not any(iou(ln.quad, r) > _SAME_LINE_IOU for r in read_lines)]
            placed.extend(todo)
            attempt(place_by_key_lines(img, todo, eng))
            if len(found) >= 2:
                return

    def _on_found(ln: Line) -> bool:  # the line lies on a card read on its outline: it places that card again
        c = ln.quad.mean(axis=0)
        return any(outline(i) and cv2.pointPolygonTest(q.astype(np.float32), (float(c[0]), float(c[1])), False) > 0
                   for i, q in enumerate(quads))

    def _may_place(ln: Line) -> bool:
        # With every card found read on its outline, attempt() takes only a card of the first one's size (a line
        # too short or too long for any key line of such a card is background text: not worth recognizing).
        if not quads or not all(outline(i) for i in range(len(found))):
            return True
        first = cv2.contourArea(quads[0])
        return any(0.45 < a / max(first, 1.0) < 2.2 for a in placed_card_areas(ln.quad))

    t = time.perf_counter()
    outlines = outline_quads(img)
    timings["locate_ms"] = (time.perf_counter() - t) * 1000
    attempt(_inner_pairs_first(outlines[:_MAX_OUTLINES]))
    if len(found) == 1 and _copied(img, quads[0]) and _ink_elsewhere(img, quads[0]):
        # a copy of both sides on a page: the other card's faint outline may have gone unseen
        t = time.perf_counter()
        by_key_lines()
        timings["second_card_ms"] = (time.perf_counter() - t) * 1000
    if not found or not all(outline(i) for i in range(len(found))):
        # No card, or one whose outline is not the card's (a screen around it): place cards by their key lines
        t = time.perf_counter()
        by_key_lines()
        timings["fallback_ms"] = (time.perf_counter() - t) * 1000
    if not found and bare:
        q, ct, outline_q, _ = max(bare, key=lambda b: b[3])
        found.append((_to_card(img.shape, q, ct, outline_q), ct))
    return found, outlines, unread


def _many_digits(text: str) -> bool:
    """A run of 12 or more digits: most of a number strip."""
    return re.search(r"\d{12}", nz.drop_specks(text.replace(" ", ""))) is not None


def _copied(img: np.ndarray, quad: np.ndarray) -> bool:
    """A card without colour (no blue labels, no red emblem, no skin) on a white page: a photocopy, which
    often holds the other side too, so a second card is worth a search."""
    small = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)
    page = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    card = cv2.cvtColor(cv2.resize(straighten(img, quad), (171, 108), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV)
    return float(np.median(page[:, :, 2])) > 200 and float(np.percentile(card[:, :, 1], 95)) < 20


def _ink_elsewhere(img: np.ndarray, quad: np.ndarray, share: float = 0.15) -> bool:
    """Outside the card (and a margin round it) the page holds ink: at least ``share`` of the card's own, by the
    card's ink level (Otsu). The other side copied beside it prints as much as this one; a blank page, none."""
    h, w = img.shape[:2]
    s = min(1.0, 480 / max(h, w))
    grey = cv2.cvtColor(cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA),
                        cv2.COLOR_BGR2GRAY)
    card = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(card, np.round(quad * s).astype(np.int32), 255)
    inside = grey[card > 0]
    if inside.size < 100:
        return True
    level, _ = cv2.threshold(inside.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    margin = cv2.dilate(card, np.ones((max(3, grey.shape[0] // 20),) * 2, np.uint8))
    ink_in = int(np.count_nonzero(inside < level))
    ink_out = int(np.count_nonzero(grey[margin == 0] < level))
    return ink_out >= share * max(ink_in, 1)


def _checks(fields: dict[str, Field], repaired: bool, card_type: str = "resident") -> Checks:
    """Cross-checks of the fields. The foreigners' card number carries no GB/T 2260 area, and the age rule
    for the validity term is the resident card's (the warnings apply the other types' own terms)."""
    c = Checks(number_repaired=repaired)
    number = fields["number"].value if "number" in fields else None
    if number and len(number) == 18:
        c.checksum = checksum_ok(number)
        if card_type != "foreign":
            area = lookup_area(number[:6])
            c.area_known = area is not None
            c.area = area
        if "birth" in fields:
            c.birth_matches = birth_of(number) == fields["birth"].value
        if "sex" in fields:
            c.sex_matches = sex_of(number) == fields["sex"].value
    elif number:
        c.checksum = False
    birth = fields["birth"].value if "birth" in fields else (birth_of(number) if number else None)
    if birth and "valid_from" in fields and "valid_to" in fields and card_type == "resident":
        c.validity_term_ok = nz.validity_term_ok(birth, fields["valid_from"].value, fields["valid_to"].value)
    return c


@dataclass
class CardView:
    """A found card as the checks need it: its model, the upright canonical image, image->canonical map."""

    card: Card
    upright: np.ndarray  # CANON_W x CANON_H BGR, upright
    to_canon: np.ndarray  # 3x3 homography, original image px -> upright canonical px
    title: str = ""  # a back's title lines as the reader read them (the card type shows there)


@dataclass
class Detailed:
    reading: Reading
    views: list[CardView]
    decoded: Decoded
    kinds: list[CardKind] | None = None  # each card's type, once the checks have decided it (kept on re-read)
    outlines: list[np.ndarray] | None = None  # locate.outline_quads of the image, as the reader found them
    unread: list[tuple[np.ndarray, str]] | None = None  # quads read to no card, and the text read in them


def _view(img: np.ndarray, card: Card, ct: CardText, decoded: Decoded | None = None,
          full: list[np.ndarray] | None = None) -> CardView:
    """The card as the checks see it. A card that the working-size pixels hold at less than the canonical
    resolution is straightened from the full-resolution image (decoded once, into `full`): the checks measure
    blur, print and moire at the card's own resolution, which an upsampled reduced image would blur."""
    quad = np.array(card.quad, np.float32)  # already upright-ordered
    h = homography(quad)
    if decoded is not None and decoded.full_size is not None and _card_px_per_mm(quad) < PX_PER_MM:
        if full is not None and not full:
            full.append(decoded.full_pixels())
        big = full[0] if full else decoded.full_pixels()
        fx, fy = decoded.to_full
        to_work = np.diag([1 / fx, 1 / fy, 1.0])  # full-resolution px -> working px
        upright = cv2.warpPerspective(big, h @ to_work, (CANON_W, CANON_H), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
        return CardView(card, upright, h, ct.title)
    return CardView(card, straighten(img, quad), h, ct.title)


def _card_px_per_mm(quad: np.ndarray) -> float:
    return float(np.sqrt(cv2.contourArea(quad.astype(np.float32)) / (CANON_W * CANON_H))) * PX_PER_MM


def read_detailed(
    image: ImageInput,
    side: Literal["auto", "front", "back"] = "auto",
    engine: Engine | None = None,
    checks: bool = True,
    images: bool = False,
    rectify: bool = True,
) -> Detailed:
    """read(), plus the straightened cards and the decoded image's metadata.

    checks: add the card checks (portrait, quality, risk, card type, warnings); images: also the portrait
    crop and the straightened card as base64 JPEG; rectify=False: the image is a region cut from a card
    (the number strip, say): its text lines are read as they are, with no card to find (see region.py).
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    # At the working resolution (a phone photo's JPEG decoded at 1/2 or 1/4 scale): every stage after works in
    # those pixels, and the Reading's coordinates are mapped back to the full image at the end (_full_res).
    decoded = decode_with_meta(image, work_side=WORK_SIDE)
    img = decoded.pixels
    timings["decode_ms"] = (time.perf_counter() - t0) * 1000
    eng = engine or get_engine()
    if not rectify:
        d = _region_only(img, decoded, eng, t0, timings)
        d.reading = _full_res(d.reading, decoded)
        return d
    found, outlines, unread = _find_cards(img, eng, timings)

    repaired = any(ct.number_repaired for _, ct in found)
    reading = _cards_reading(img, [c for c, _ in found], repaired, t0, timings)
    full: list[np.ndarray] = []  # the full-resolution image, once decoded for a view
    detailed = Detailed(reading, [_view(img, c, ct, decoded, full) for c, ct in found], decoded, outlines=outlines,
                        unread=unread)
    if checks:
        from .checks import apply, assess  # the checks import this module (for types): import late

        cc = assess(detailed, side, eng)
        if cc.card_type in TYPE_FIELDS:
            # Another card type: read it again by its own labels, then judge what that read.
            detailed = _read_as(detailed, cc.card_type, eng, t0, timings)
            cc = assess(detailed, side, eng)
        elif any(_placeholder(v.card) for v in detailed.views):
            # A green card kept for the temporary card's reader (read_quad) that the checks did not type as
            # one: no ID card after all.
            views = [v for v in detailed.views if not _placeholder(v.card)]
            reading = _cards_reading(img, [v.card for v in views], repaired, t0, timings)
            detailed = Detailed(reading, views, decoded, outlines=outlines, unread=unread)
            cc = assess(detailed, side, eng)
        detailed.reading = apply(detailed.reading, cc, detailed, images=images)
    detailed.reading = _full_res(detailed.reading, decoded)
    detailed.reading.time_ms = round((time.perf_counter() - t0) * 1000, 1)
    return detailed


def _placeholder(card: Card) -> bool:
    """A front without fields: a green card kept for the temporary card's reader (a back without fields is
    one whose two titles read and its small print did not)."""
    return card.side == "front" and not card.fields


def _full_res(r: Reading, d: Decoded) -> Reading:
    """The Reading with its coordinates (cards, fields) and image size at full resolution.

    The views keep the decoded pixels' coordinates (their to_canon maps those); the portrait is placed at
    full resolution by the checks themselves."""
    if d.full_size is None:
        return r
    fx, fy = d.to_full

    def quad(q: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(round(x * fx, 1), round(y * fy, 1)) for x, y in q]

    def fields(fs: dict[str, Field]) -> dict[str, Field]:
        return {k: f.model_copy(update={"box": quad(f.box)}) for k, f in fs.items()}

    cards = [c.model_copy(update={"quad": quad(c.quad), "fields": fields(c.fields)}) for c in r.cards]
    return r.model_copy(update={"cards": cards, "fields": fields(r.fields), "image_size": d.upright_size})


def _cards_reading(img: np.ndarray, cards: list[Card], repaired: bool, t0: float, timings: dict[str, float],
                   card_type: str = "resident") -> Reading:
    """The Reading of the cards found: each field from the first card that has it."""
    fields: dict[str, Field] = {}
    for card in cards:
        for k, f in card.fields.items():
            fields.setdefault(k, f)
    return _reading(img, fields, repaired, cards, {c.side for c in cards}, t0, timings, card_type)


def _read_as(detailed: Detailed, card_type: str, eng: Engine, t0: float, timings: dict[str, float]) -> Detailed:
    """The cards re-read as `card_type` (temporary, permit, foreign) by their printed labels."""
    t = time.perf_counter()
    img = detailed.decoded.pixels
    views = []
    for v in detailed.views:
        # These cards do not follow the resident layout the card was fitted to: read them on their outline,
        # then place the card where its own labels put it.
        got = outline_view(img, np.array(v.card.quad, np.float64), detailed.outlines)
        lab = read_labelled(img, got[1] if got else v.to_canon, card_type, v.card.side, eng)
        if not lab.fields:
            views.append(v)
            continue
        update: dict[str, object] = {"fields": lab.fields}
        upright, to_canon = v.upright, v.to_canon
        placed = lab.to_canon if lab.to_canon is not None else (got[1] if got else None)
        if placed is not None:
            quad = snap_to_edges(img, _quad_of(placed))  # labels sit at the left: the card's edges pin the rest
            if card_shaped(quad):
                update["quad"] = quad_list(quad)
                update["rotation"] = rotation_of(quad)
                upright, to_canon = straighten(img, quad), homography(quad)
        views.append(CardView(v.card.model_copy(update=update), upright, to_canon, v.title))
    timings["other_type_ms"] = (time.perf_counter() - t) * 1000
    reading = _cards_reading(img, [v.card for v in views], False, t0, timings, card_type)
    return Detailed(reading, views, detailed.decoded, detailed.kinds, detailed.outlines)


def _region_only(img: np.ndarray, decoded: Decoded, eng: Engine, t0: float, timings: dict[str, float]) -> Detailed:
    fields = read_region(img, eng)
    sides = {side for side, keys in (("front", FRONT_FIELDS), ("back", BACK_FIELDS)) if any(k in fields for k in keys)}
    return Detailed(_reading(img, fields, False, [], sides, t0, timings), [], decoded)


def _reading(
    img: np.ndarray, fields: dict[str, Field], repaired: bool, cards: list[Card], sides: set[str], t0: float,
    timings: dict[str, float], card_type: str = "resident",
) -> Reading:
    """The Reading of what was found: side from the card sides seen, checks from the fields."""
    h, w = img.shape[:2]
    return Reading(
        side="both" if len(sides) == 2 else (next(iter(sides)) if sides else "none"),  # type: ignore[arg-type]
        rotation=cards[0].rotation if cards else 0,
        fields=fields,
        checks=_checks(fields, repaired, card_type),
        cards=cards,
        image_size=(w, h),
        timings_ms={k: round(v, 1) for k, v in timings.items()},
        time_ms=round((time.perf_counter() - t0) * 1000, 1),
    )


def read(
    image: ImageInput,
    side: Literal["auto", "front", "back"] = "auto",
    engine: Engine | None = None,
    images: bool = False,
    rectify: bool = True,
) -> Reading:
    """Read every ID card side in an image, with the card checks.

    `side` states what the caller expects; the Reading always reports the side actually found, so a
    caller can tell a reversed side from a match (quality.image_status says reversed_side).
    """
    return read_detailed(image, side, engine, images=images, rectify=rectify).reading


__all__ = ["CardView", "Detailed", "ImageInput", "read", "read_detailed"]
