"""Line geometry for the layout formats: integer boxes, reading direction, word boxes.

Results store one float polygon per line, ordered clockwise from the top-left of the
text as read (see :class:`~difftsr_ocr.results.Line`), so the first edge of the
polygon points along the reading direction: right for ordinary lines, down the page
for vertical lines that are read after a counter-clockwise turn.

There is no word geometry in the results: hOCR and ALTO want word boxes, so they are
**estimated** here by splitting the line's text on whitespace and giving each word the
share of the line's length that its characters take of the whole text. That is exact
for monospaced text and a fair approximation otherwise; consumers that need real word
boxes must not treat these as measured.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Sequence

from difftsr_ocr.results import Line

__all__ = ["Box", "LineFrame", "Word", "int_box", "is_axis_aligned", "line_frame", "word_layout"]

_WORD = re.compile(r"\S+")
# Points closer than this (page pixels) to a box corner count as on it.
_CORNER_TOLERANCE = 0.5


@dataclasses.dataclass(frozen=True)
class Box:
    """An integer page box, ``x1``/``y1`` exclusive, always inside the page."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @classmethod
    def around(cls, boxes: Sequence[Box]) -> Box:
        """The smallest box holding every one of ``boxes`` (at least one)."""
        return cls(
            min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
        )

    def intersect(self, other: Box) -> Box:
        x0, y0 = max(self.x0, other.x0), max(self.y0, other.y0)
        return Box(x0, y0, max(x0, min(self.x1, other.x1)), max(y0, min(self.y1, other.y1)))


@dataclasses.dataclass(frozen=True)
class Word:
    """One whitespace-separated word and its estimated box."""

    text: str
    box: Box


@dataclasses.dataclass(frozen=True)
class LineFrame:
    """The line in reading coordinates: ``s`` along the text, ``t`` across it (downwards as read).

    ``origin`` is the polygon's first point, ``along`` the unit reading direction in
    page pixels (y down); ``s0..s1`` and ``t0..t1`` bound the polygon in that frame.
    """

    origin: tuple[float, float]
    along: tuple[float, float]
    s0: float
    s1: float
    t0: float
    t1: float

    @property
    def across(self) -> tuple[float, float]:
        # A quarter turn clockwise on screen: "down" for text that reads to the right.
        return (-self.along[1], self.along[0])

    @property
    def angle(self) -> float:
        """Counter-clockwise angle of the reading direction from the page's x axis, degrees."""
        return math.degrees(math.atan2(-self.along[1], self.along[0]))

    def point(self, s: float, t: float) -> tuple[float, float]:
        (ox, oy), (ux, uy), (vx, vy) = self.origin, self.along, self.across
        return (ox + s * ux + t * vx, oy + s * uy + t * vy)

    def section(self, start: float, end: float) -> list[tuple[float, float]]:
        """Corners of the part of the line between fractions ``start`` and ``end`` of its length."""
        length = self.s1 - self.s0
        a, b = self.s0 + start * length, self.s0 + end * length
        return [self.point(a, self.t0), self.point(b, self.t0), self.point(b, self.t1), self.point(a, self.t1)]


def int_box(points: Sequence[Sequence[float]], width: int, height: int) -> Box:
    """The smallest integer box holding ``points``, clipped to a ``width`` x ``height`` page."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    x0 = min(max(math.floor(min(xs)), 0), width)
    y0 = min(max(math.floor(min(ys)), 0), height)
    x1 = min(max(math.ceil(max(xs)), x0), width)
    y1 = min(max(math.ceil(max(ys)), y0), height)
    return Box(x0, y0, x1, y1)


def is_axis_aligned(polygon: Sequence[Sequence[float]]) -> bool:
    """Whether the polygon is an upright rectangle, so its box describes it completely."""
    if len(polygon) != 4:
        return False
    xs = [float(p[0]) for p in polygon]
    ys = [float(p[1]) for p in polygon]
    corners = {(_side(x, min(xs), max(xs)), _side(y, min(ys), max(ys))) for x, y in zip(xs, ys, strict=True)}
    return None not in {side for corner in corners for side in corner} and len(corners) == 4


def _side(value: float, low: float, high: float) -> int | None:
    if abs(value - low) <= _CORNER_TOLERANCE:
        return 0
    if abs(value - high) <= _CORNER_TOLERANCE:
        return 1
    return None


def line_frame(polygon: Sequence[Sequence[float]]) -> LineFrame:
    """The reading frame of a line polygon (see the module docstring for the convention)."""
    points = [(float(p[0]), float(p[1])) for p in polygon]
    origin = points[0]
    along = (1.0, 0.0)
    # The first edge gives the direction; skip repeated points so a duplicated corner
    # from a detector does not leave the direction undefined.
    for x, y in points[1:]:
        dx, dy = x - origin[0], y - origin[1]
        norm = math.hypot(dx, dy)
        if norm > 1e-9:
            along = (dx / norm, dy / norm)
            break
    frame = LineFrame(origin, along, 0.0, 0.0, 0.0, 0.0)
    (ux, uy), (vx, vy) = frame.along, frame.across
    s = [(x - origin[0]) * ux + (y - origin[1]) * uy for x, y in points]
    t = [(x - origin[0]) * vx + (y - origin[1]) * vy for x, y in points]
    return dataclasses.replace(frame, s0=min(s), s1=max(s), t0=min(t), t1=max(t))


def word_layout(line: Line, width: int, height: int) -> tuple[list[Word], list[Box]]:
    """Estimated boxes of the line's words, and of the gaps between consecutive words.

    Boxes are clipped to the line's own box, so a word never sticks out of its line.
    """
    text = line.text
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not spans:
        return [], []
    frame = line_frame(line.polygon)
    line_box = int_box(line.polygon, width, height)
    total = len(text)

    def box(start: int, end: int) -> Box:
        return int_box(frame.section(start / total, end / total), width, height).intersect(line_box)

    words = [Word(text[a:b], box(a, b)) for a, b in spans]
    gaps = [box(prev_end, next_start) for (_, prev_end), (next_start, _) in itertools.pairwise(spans)]
    return words, gaps
