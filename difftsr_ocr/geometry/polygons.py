"""Line polygons: validation, corner order, size and padding (reading order: :mod:`.layout`).

A line polygon is a float ``[N, 2]`` array of page pixels in the pixel-edge
convention (the page spans ``[0, W] x [0, H]``, pixel ``(i, j)`` covers
``[i, i + 1) x [j, j + 1)``). Two shapes are understood:

* a quadrilateral, ordered here as TL, TR, BR, BL (detectors give them in any order);
* a curved line of ``2n`` points: ``n`` along the top edge left to right, then ``n``
  along the bottom edge right to left (the order curved-text detectors produce).

A quad is the ``n = 2`` case of the curved shape, so everything downstream handles
both with one code path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from difftsr_ocr.errors import InputImageError

__all__ = [
    "VERTICAL_RATIO",
    "centre_line",
    "edges",
    "is_vertical",
    "line_height",
    "line_length",
    "line_polygon",
    "order_quad_by_edge_direction",
    "pad_polygon",
    "polygon_bbox",
    "text_height",
    "upright_polygon",
]

# PP-OCR rotates a rectified crop whose height is at least 1.5x its width (its
# ``get_rotate_crop_image``); the same threshold keeps our crops identical to its.
VERTICAL_RATIO = 1.5


def order_quad_by_edge_direction(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """The four corners ordered TL, TR, BR, BL (clockwise on screen, y pointing down).

    TL starts the edge that points most nearly to the right, which stays correct for
    lines rotated by up to 45 degrees either way, whatever order the corners come in.
    The detector orders its own rectangles by PP-OCR's rule instead
    (:func:`~difftsr_ocr.detect.postprocess.order_quad_by_x`), to match rapidocr exactly.
    """
    quad = _as_points(points)
    if len(quad) != 4:
        raise InputImageError(f"order_quad_by_edge_direction needs 4 points, got {len(quad)}; pass a quadrilateral")
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    ring = quad[np.argsort(angles)]
    directions = np.roll(ring, -1, axis=0) - ring
    rightness = directions[:, 0] / np.maximum(np.hypot(directions[:, 0], directions[:, 1]), 1e-12)
    return np.roll(ring, -int(np.argmax(rightness)), axis=0)


def line_polygon(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """A validated float64 copy of ``points``; quads are put in TL, TR, BR, BL order."""
    polygon = _as_points(points)
    if len(polygon) == 4:
        return order_quad_by_edge_direction(polygon)
    if len(polygon) < 4 or len(polygon) % 2:
        raise InputImageError(
            f"a line polygon needs 4 points (a quad) or an even number >= 4 (curved line), got {len(polygon)} points"
        )
    return polygon


def edges(polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) edges, both ``[n, 2]`` and running left to right."""
    n = len(polygon) // 2
    return polygon[:n], polygon[n:][::-1]


def centre_line(polygon: np.ndarray) -> np.ndarray:
    """The ``[n, 2]`` points halfway between the top and bottom edges."""
    top, bottom = edges(polygon)
    return (top + bottom) / 2.0


def line_height(polygon: np.ndarray) -> float:
    """Mean distance between matching top and bottom points (the extent across the top edge)."""
    top, bottom = edges(polygon)
    return float(np.mean(np.hypot(*(top - bottom).T)))


def line_length(polygon: np.ndarray) -> float:
    """Length of the centre line (the extent along the top edge)."""
    steps = np.diff(centre_line(polygon), axis=0)
    return float(np.sum(np.hypot(steps[:, 0], steps[:, 1])))


def is_vertical(polygon: np.ndarray, ratio: float = VERTICAL_RATIO) -> bool:
    """Whether the line is taller than ``ratio`` times its length (text running down the page)."""
    return line_height(polygon) >= ratio * line_length(polygon)


def text_height(polygon: np.ndarray, ratio: float = VERTICAL_RATIO) -> float:
    """Height of the glyphs: the short extent for vertical lines, else the line height."""
    return line_length(polygon) if is_vertical(polygon, ratio) else line_height(polygon)


def polygon_bbox(polygon: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the polygon."""
    x0, y0 = polygon.min(axis=0)
    x1, y1 = polygon.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def upright_polygon(polygon: np.ndarray, ratio: float = VERTICAL_RATIO) -> np.ndarray:
    """The ring restarted at the top-left of the text as it reads once rotated upright.

    Horizontal lines are returned unchanged. A vertical line is read after a 90 degree
    counter-clockwise turn, which brings the end of its top edge to the top-left; the
    ring stays clockwise (the convention ``results.Line.polygon`` documents).
    """
    if not is_vertical(polygon, ratio):
        return polygon.copy()
    return np.roll(polygon, -(len(polygon) // 2 - 1), axis=0)


def pad_polygon(
    polygon: np.ndarray,
    page_size: tuple[int, int],
    *,
    along: float = 0.15,
    across: float = 0.05,
    vertical_ratio: float = VERTICAL_RATIO,
) -> np.ndarray:
    """Grow the line by context around its strokes, in proportion to the text height.

    ``along`` (at each end of the line) and ``across`` (above and below the glyphs) are
    fractions of the text height; detectors hug the ink, and restorers as well as
    recognisers need a margin of paper. Each side is shrunk on its own where it would
    leave the page (``page_size`` is ``(width, height)``), so edges stay straight rather
    than being bent by clamping single corners.
    """
    if along < 0 or across < 0:
        raise ValueError(f"padding must be >= 0, got along={along}, across={across}")
    width, height = page_size
    padded = np.clip(polygon, [0.0, 0.0], [float(width), float(height)])
    size = text_height(padded, vertical_ratio)
    vertical = is_vertical(padded, vertical_ratio)
    # A vertical line's reading direction runs along its side edges, so the two pads swap.
    end_pad, side_pad = (across, along) if vertical else (along, across)
    n = len(padded) // 2
    top, bottom = padded[:n], padded[n:][::-1]

    centre = (top + bottom) / 2.0
    start_dir = _unit(centre[1] - centre[0])
    end_dir = _unit(centre[-1] - centre[-2])
    for index, direction in ((0, -start_dir), (n - 1, end_dir)):
        shift = direction * end_pad * size
        pair = np.stack([top[index], bottom[index]])
        step = _room(pair, shift, width, height) * shift
        top[index] += step
        bottom[index] += step

    up = top - bottom
    up /= np.maximum(np.hypot(up[:, 0], up[:, 1]), 1e-12)[:, None]
    shifts = up * side_pad * size
    top += _room(top, shifts, width, height) * shifts
    bottom -= _room(bottom, -shifts, width, height) * shifts
    return np.concatenate([top, bottom[::-1]])


def _room(points: np.ndarray, shifts: np.ndarray, width: int, height: int) -> float:
    """The largest t in [0, 1] keeping every ``points + t * shifts`` on the page."""
    shifts = np.broadcast_to(shifts, points.shape)
    limit = 1.0
    for axis, size in ((0, float(width)), (1, float(height))):
        d = shifts[:, axis]
        p = points[:, axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(d > 0, (size - p) / d, np.where(d < 0, p / -d, np.inf))
        limit = min(limit, float(room.min()))
    return max(limit, 0.0)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.hypot(vector[0], vector[1]))
    if norm < 1e-12:
        return np.array([1.0, 0.0])
    return vector / norm


def _as_points(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    array = np.array(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputImageError(f"a polygon must be an [N, 2] array of (x, y) page pixels, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputImageError("a polygon has NaN or infinite coordinates; drop that detection")
    return array
