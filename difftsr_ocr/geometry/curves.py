"""Curved lines from outlines: any text outline -> a line polygon of paired top/bottom points.

Detectors that follow the text's contour (DB with polygon output, PaddleOCR's
``box_type: poly``) return an outline: a ring of points with no notion of which belong
to the top edge and which to the bottom. Rectification needs the paired form of
:mod:`.polygons` (``n`` points along the top edge, then ``n`` along the bottom edge back).
:func:`line_from_outline` finds the line's centre curve and its height, and lays the
polygon out as that curve widened by the height on both sides, so the two edges stay
parallel (text has one height along a line) and never cross however ragged the outline.

The centre curve: slices across the outline's long axis give a first guess (a parabola
through the slices' midpoints); then, twice, the outline is cut along the normals of the
current curve and the cuts' midpoints are fitted by a quartic in arc length, which
follows circular arcs of up to about 150 degrees to a fraction of the line height. The
ends are extended along the end tangents to the outline's furthest point, so the
polygon covers the rounded caps a contour offset leaves. Only numpy, cv2 and shapely.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.validation import make_valid

from difftsr_ocr.geometry.polygons import centre_line, line_height, line_length, line_polygon

__all__ = ["STRAIGHT_BEND", "line_bend", "line_from_outline", "region_from_outline", "snug_to_ink", "valid_outline"]

# A line whose centre curve strays less than this fraction of its height from the chord
# is boxed: its quad is at most that much taller than the text and reads as well.
STRAIGHT_BEND = 0.2
# Slices and normals per line: about two per line height, within these bounds.
_MIN_SAMPLES = 8
_MAX_SAMPLES = 48
# Slices this close to the ends cross the caps, not the line: left out of the first guess.
_END_MARGIN = 0.15
_REFINEMENTS = 2
_CURVE_DEGREE = 4
# The polygon's straight pieces stay within this fraction of the line height of the
# fitted curve, with at most _MAX_PAIRS point pairs (the two end pairs included).
_CHORD_TOLERANCE = 0.03
_MAX_PAIRS = 32
_DENSE = 256
# Outlines steeper than this are columns of text, which this model does not bend.
_STEEPEST_AXIS_DEGREES = 45.0
# snug_to_ink: rows whose change along the line reaches this share of the busiest row's
# are ink; they must hold this share of all the change; the text keeps this margin
# (of its own height) above and below, about what DB leaves around straight lines.
_INK_ROW_SHARE = 0.15
_INK_BAND_SHARE = 0.85
_INK_MARGIN = 0.12


def valid_outline(points: np.ndarray) -> Polygon | None:
    """``points`` as a valid shapely polygon (the largest piece of a self-crossing ring), or None when it has no area."""
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3 or not np.all(np.isfinite(array)):
        return None
    shape = make_valid(Polygon(array))
    pieces = [piece for piece in getattr(shape, "geoms", [shape]) if isinstance(piece, (Polygon, MultiPolygon))]
    polygons = [p for piece in pieces for p in getattr(piece, "geoms", [piece])]
    if not polygons:
        return None
    largest = max(polygons, key=lambda p: p.area)
    # A sliver under a pixel square carries no text.
    return largest if largest.area >= 1.0 else None


def line_from_outline(points: np.ndarray) -> np.ndarray | None:
    """The line polygon (paired form, float64 ``[2n, 2]``, ``n >= 2``) inside the outline ``points``, or None.

    ``points`` is ``[N, 2]``, in any order around the ring.
    None means the outline is no horizontal-ish line this model can bend: it has no
    area, runs steeper than 45 degrees (a text column), or curves so tightly that the
    edges would fold. Callers then fall back to the outline's minimum-area rectangle.
    """
    outline = valid_outline(points)
    if outline is None:
        return None
    ring = np.asarray(outline.exterior.coords[:-1], dtype=np.float64)
    axis, across = _axes(ring)
    if axis is None:
        return None
    origin = ring.mean(axis=0)
    # Work in the frame of the long axis (s along it, t across it, t growing downwards).
    frame = shapely.transform(outline, lambda xy: np.stack([(xy - origin) @ axis, (xy - origin) @ across], axis=1))
    s0, t0, s1, t1 = frame.bounds
    thickness = frame.area / max(s1 - s0, 1e-9)
    samples = int(np.clip(2.0 * (s1 - s0) / max(thickness, 1e-9), _MIN_SAMPLES, _MAX_SAMPLES))

    curve = _first_guess(frame, samples, thickness)
    if curve is None:
        return None
    height = thickness
    for _ in range(_REFINEMENTS):
        refined = _refine(frame, curve, samples, t1 - t0)
        if refined is None:
            return None
        curve, height = refined

    centre, tangents = _extended_centre(frame, curve, height)
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)  # pointing down the page
    top = centre - normals * height / 2.0
    bottom = centre + normals * height / 2.0
    polygon_frame = np.concatenate([top, bottom[::-1]])
    if not Polygon(polygon_frame).is_valid:
        return None
    return origin + polygon_frame[:, :1] * axis + polygon_frame[:, 1:] * across


def region_from_outline(points: np.ndarray, page: np.ndarray | None = None, *, bend: bool = True) -> np.ndarray | None:
    """A detector's outline as the line polygon the pipeline cuts: a quad for a straight line, else the bent polygon.

    The bent polygon comes from :func:`line_from_outline`, fitted to the ink of ``page``
    when given (:func:`snug_to_ink`); a line bent by less than :data:`STRAIGHT_BEND`, or
    one this model cannot bend (a text column), is the outline's minimum-area rectangle
    (TL, TR, BR, BL); so is every line with ``bend=False``. None when the outline has no area.
    """
    outline = valid_outline(points)
    if outline is None:
        return None
    ring = np.asarray(outline.exterior.coords[:-1], dtype=np.float64)
    bent = line_from_outline(ring) if bend else None
    if bent is not None and page is not None:
        bent = snug_to_ink(page, bent)
    if bent is not None and line_bend(bent) >= STRAIGHT_BEND:
        return bent
    box = cv2.boxPoints(cv2.minAreaRect(ring.astype(np.float32))).astype(np.float64)
    return line_polygon(box)


def line_bend(polygon: np.ndarray) -> float:
    """How far the centre line of ``polygon`` (paired form) strays from its chord, in line heights.

    0 for a straight line; an arc that rises by its own height scores 1.
    """
    centre = centre_line(polygon)
    chord = centre[-1] - centre[0]
    length = float(np.hypot(*chord))
    height = line_height(polygon)
    if length < 1e-9 or height < 1e-9:
        return 0.0
    offsets = np.abs((centre - centre[0]) @ np.array([-chord[1], chord[0]])) / length
    return float(offsets.max() / height)


def _axes(ring: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Unit vectors along and across the outline's long axis; the first is None for a steep outline."""
    (_, _), (width, height), angle = cv2.minAreaRect(ring.astype(np.float32))
    degrees = angle if width >= height else angle + 90.0
    axis = np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])
    if axis[0] < 0:
        axis = -axis
    across = np.array([-axis[1], axis[0]])
    # Text reads along the axis; a steep axis is a column of stacked glyphs or an artefact.
    if abs(math.degrees(math.atan2(axis[1], axis[0]))) > _STEEPEST_AXIS_DEGREES:
        return None, across
    return axis, across


def _cuts(frame: Polygon, starts: np.ndarray, ends: np.ndarray, near: np.ndarray) -> np.ndarray:
    """For each segment start->end, the (entry, exit) points of the outline piece nearest ``near``; NaN where none."""
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    pieces = shapely.intersection(frame, lines)
    out = np.full((len(starts), 2, 2), np.nan)
    for index, piece in enumerate(pieces):
        parts = [p for p in getattr(piece, "geoms", [piece]) if isinstance(p, LineString) and not p.is_empty]
        if not parts:
            continue
        point = shapely.points(near[index])
        best = min(parts, key=lambda p: p.distance(point))
        coords = np.asarray(best.coords, dtype=np.float64)
        out[index] = coords[0], coords[-1]
    return out


def _first_guess(frame: Polygon, samples: int, thickness: float) -> np.ndarray | None:
    """Centre points from slices across the long axis, smoothed by a parabola; ``[samples, 2]``."""
    s0, t0, s1, t1 = frame.bounds
    s = s0 + (np.arange(samples) + 0.5) / samples * (s1 - s0)
    starts = np.stack([s, np.full(samples, t0 - 1.0)], axis=1)
    ends = np.stack([s, np.full(samples, t1 + 1.0)], axis=1)
    cuts = _cuts(frame, starts, ends, (starts + ends) / 2.0)
    middle = np.nanmean(cuts[:, :, 1], axis=1)
    inner = np.abs(s - (s0 + s1) / 2.0) <= (0.5 - _END_MARGIN) * (s1 - s0)
    usable = inner & np.isfinite(middle)
    if usable.sum() < 3:
        usable = np.isfinite(middle)
    if usable.sum() < 3:
        return None
    parabola = np.polyfit(s[usable], middle[usable], 2)
    return np.stack([s, np.polyval(parabola, s)], axis=1)


def _tangents(curve: np.ndarray) -> np.ndarray:
    steps = np.gradient(curve, axis=0)
    return steps / np.maximum(np.hypot(steps[:, 0], steps[:, 1]), 1e-12)[:, None]


def _refine(frame: Polygon, curve: np.ndarray, samples: int, span: float) -> tuple[np.ndarray, float] | None:
    """Cut the outline along the curve's normals; a quartic through the cuts' midpoints and the median cut length.

    The quartic comes back densely sampled (``_DENSE`` points), the cuts are ``samples`` many.
    """
    curve = _resample(curve, samples)
    tangents = _tangents(curve)
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    reach = 2.0 * span + 2.0
    cuts = _cuts(frame, curve - normals * reach, curve + normals * reach, curve)
    found = np.all(np.isfinite(cuts.reshape(len(cuts), -1)), axis=1)
    if found.sum() < 3:
        return None
    middles = cuts[found].mean(axis=1)
    lengths = np.hypot(*(cuts[found, 1] - cuts[found, 0]).T)
    # Arc length along the midpoints is the parameter: well conditioned for any bend.
    position = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(middles, axis=0).T))])
    if position[-1] < 1e-9:
        return None
    u = 2.0 * position / position[-1] - 1.0
    degree = min(_CURVE_DEGREE, len(u) - 1)
    fit_x, fit_y = np.polyfit(u, middles[:, 0], degree), np.polyfit(u, middles[:, 1], degree)
    grid = np.linspace(-1.0, 1.0, _DENSE)
    fitted = np.stack([np.polyval(fit_x, grid), np.polyval(fit_y, grid)], axis=1)
    # Cuts near the ends run through the caps and come out short: the median is the line's height.
    return fitted, float(np.median(lengths))


def _extended_centre(frame: Polygon, curve: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """The centre points to build the polygon on, and their unit tangents, reaching both ends of the outline."""
    dense = _resample(curve, _DENSE)
    # As few pairs as keep the polygon's straight pieces on the curve.
    for pairs in range(2, _MAX_PAIRS - 1):
        picks = np.round(np.linspace(0, len(dense) - 1, pairs)).astype(int)
        if _chord_error(dense, picks) <= _CHORD_TOLERANCE * height:
            break
    centre = dense[picks]
    directions = _tangents(dense)[picks] if pairs > 2 else np.repeat(_unit(centre[1] - centre[0])[None], 2, axis=0)

    ring = np.asarray(frame.exterior.coords[:-1], dtype=np.float64)
    start_dir, end_dir = directions[0], directions[-1]
    before = max(0.0, float(((centre[0] - ring) @ start_dir).max()))
    after = max(0.0, float(((ring - centre[-1]) @ end_dir).max()))
    # The caps of an offset contour are round, half a height deep; nothing reaches further.
    before, after = min(before, height), min(after, height)
    first, last = centre[0] - start_dir * before, centre[-1] + end_dir * after
    if pairs == 2:  # a straight line: its two ends make a quad
        return np.stack([first, last]), directions
    return np.concatenate([[first], centre, [last]]), np.concatenate([[start_dir], directions, [end_dir]])


def _resample(curve: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced by arc length along the polyline ``curve``."""
    position = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(curve, axis=0).T))])
    even = np.linspace(0.0, position[-1], count)
    return np.stack([np.interp(even, position, curve[:, 0]), np.interp(even, position, curve[:, 1])], axis=1)


def _chord_error(dense: np.ndarray, picks: np.ndarray) -> float:
    """The furthest any ``dense`` point lies from the chord of the picked points spanning it."""
    worst = 0.0
    for start, end in itertools.pairwise(picks):
        chord = dense[end] - dense[start]
        length = float(np.hypot(*chord))
        if length < 1e-9:
            continue
        offsets = (dense[start : end + 1] - dense[start]) @ np.array([-chord[1], chord[0]]) / length
        worst = max(worst, float(np.abs(offsets).max()))
    return worst


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.hypot(vector[0], vector[1]))
    return vector / norm if norm > 1e-12 else np.array([1.0, 0.0])


def snug_to_ink(page: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """``polygon`` (paired form) moved onto the band of rows that hold the ink, section by section along the line.

    DB's probability map of a bent line comes out thicker than the text, shifted towards
    one side, and for a short line hardly bent at all, so a polygon grown from it misses
    the arc. Rectified, the line's strokes are where the rows change most along their
    length. The polygon is laid out with a pair of points about every line height; around
    each pair, the band of busy rows gives where the text sits. Those centres, smoothed by
    a parabola along the line, and the band's median height plus a margin, give the new
    edges. The ink must stay inside the polygon (it only follows what it already holds),
    and a line whose change is not concentrated in one band (a busy backdrop) keeps its
    polygon.
    """
    from difftsr_ocr.geometry.rectify import rectify_line

    height = line_height(polygon)
    # A pair about every line height, and never fewer than the polygon has: its bends stay.
    pairs = int(np.clip(max(round(line_length(polygon) / max(height, 1e-9)) + 1, len(polygon) // 2), 2, _MAX_PAIRS))
    dense = _resample_pairs(polygon, pairs)
    crop, warp = rectify_line(page, dense)
    if crop.shape[0] < 8 or crop.shape[1] < 8 or warp.rotated:
        return polygon
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    change = np.abs(np.diff(gray, axis=1))
    whole = _ink_band(change)
    if whole is None:
        return polygon
    columns = warp.knots / warp.line_size[0] * change.shape[1]
    reach = max(float(np.diff(columns).mean()), 1.0)
    middles, spans = [], []
    for column in columns:
        window = change[:, max(0, int(column - reach)) : max(int(column + reach), int(column - reach) + 1)]
        band = _ink_band(window) or whole
        middles.append((band[0] + band[1]) / 2.0)
        spans.append(band[1] - band[0])
    position = columns / max(float(columns[-1]), 1e-9)
    fitted = np.polyval(np.polyfit(position, middles, min(2, pairs - 1)), position)
    half = (float(np.median(spans)) * (1.0 + 2.0 * _INK_MARGIN)) / 2.0
    rows = crop.shape[0]
    top_share = np.clip((fitted - half) / rows, 0.0, 1.0)[:, None]
    bottom_share = np.clip((fitted + half) / rows, 0.0, 1.0)[:, None]
    top, bottom = dense[:pairs], dense[pairs:][::-1]
    return np.concatenate([top + (bottom - top) * top_share, (top + (bottom - top) * bottom_share)[::-1]])


def _ink_band(change: np.ndarray) -> tuple[float, float] | None:
    """(first, last) row of the band around the busiest row holding most of ``change``, or None."""
    energy = np.convolve(change.mean(axis=1), np.ones(3) / 3.0, mode="same")
    signal = np.maximum(energy - float(np.percentile(energy, 10)), 0.0)
    if signal.sum() <= 0:
        return None
    rows = np.flatnonzero(signal >= _INK_ROW_SHARE * float(signal.max()))
    first, last = int(rows[0]), int(rows[-1]) + 1
    if signal[first:last].sum() < _INK_BAND_SHARE * signal.sum():
        return None
    return float(first), float(last)


def _resample_pairs(polygon: np.ndarray, pairs: int) -> np.ndarray:
    """``polygon`` (paired form) with ``pairs`` point pairs spread evenly along its centre line."""
    n = len(polygon) // 2
    top, bottom = polygon[:n], polygon[n:][::-1]
    centre = (top + bottom) / 2.0
    position = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(centre, axis=0).T))])
    even = np.linspace(0.0, position[-1], pairs)

    def along(edge: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(even, position, edge[:, 0]), np.interp(even, position, edge[:, 1])], axis=1)

    return np.concatenate([along(top), along(bottom)[::-1]])
