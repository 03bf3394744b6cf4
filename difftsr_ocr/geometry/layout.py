"""Page layout from line polygons alone: blocks, columns and reading order, skew-aware.

The input is what a detector gives: one polygon per text line, in page pixels, in any
order. The output is a :class:`PageLayout`: blocks (paragraphs, headings, single lines)
in reading order, each holding its lines top to bottom. Four steps:

1. **Frame.** Lines run along the page on most pages. When most of them run down it
   (CJK set in vertical columns), the page is read in a frame turned a quarter turn, so
   that those lines run left to right there and the rightmost column comes first.
2. **Deskew.** The length-weighted median angle of the lines that run along the frame
   is the page's skew; every polygon is turned back by it, so the rules below can work
   on axis-aligned boxes even on a page scanned a few degrees off.
3. **Blocks.** A line continues the block of the line directly above it when each is
   the other's only neighbour in that direction and nothing marks a new paragraph: a
   wider pitch than the page's usual line spacing, an indent, a change of text size or
   angle, or a line above that stops well short (a heading, a paragraph's last line).
   Lines of different columns never overlap horizontally, so no block crosses a gutter.
4. **Reading order.** First the page is cut into sections where a band of white space
   runs across all of it, taller than a paragraph gap (the top level of an XY-cut);
   sections are read top to bottom. Within one, blocks follow T. Breuel's two rules
   ("High performance document layout analysis", 2003), sorted topologically: a comes
   before b when their horizontal extents overlap and a is higher; or when a lies
   wholly left of b and no block between them in height overlaps both. The second rule
   keeps a column together until a block spanning the columns (a heading across them)
   intervenes. Unlike cutting at every band, it does not interleave columns that
   happen to break paragraphs at the same height.

Tables and forms whose cells are detected as separate lines are read column by column
(a left column of labels, then a right column of values): the rules cannot tell a
narrow text column from a column of table cells.

Framework-free (numpy and OpenCV), like the rest of :mod:`difftsr_ocr.geometry`.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.errors import InputImageError

__all__ = ["PageLayout", "arrange_lines"]

# Lines at least this elongated vote on the page's direction and skew; squarer ones
# (a single character) have no reliable direction.
_ELONGATED = 2.0
# Boxes must overlap by more than this fraction of the smaller text height to count as
# sharing a column; boxes that merely touch across a narrow gutter do not.
_OVERLAP_FRACTION = 0.25
# A paragraph break: consecutive lines this many times further apart than the page's
# usual line pitch (a blank line doubles it, half a line of space makes 1.5), and at
# least _PITCH_MIN text heights apart. Pitch (centre to centre), not the white gap,
# because detectors pad their boxes by varying amounts.
_PITCH_RATIO = 1.35
_PITCH_MIN = 1.2
# Text heights of consecutive lines of one block differ by at most this ratio, unless
# the smaller is a line of a few characters ("on", "No."), whose box is as tall as its
# letters happen to be rather than as its type size.
_SIZE_RATIO = 1.5
_FEW_CHARACTERS = 6.0  # length in text heights
# ... and their angles by at most this many degrees.
_ANGLE_TOLERANCE = 3.0
# A line starting this many text heights right of the line above starts a paragraph
# (first-line indent); one starting this far left of it follows a centred or indented
# heading. The second is wider so a paragraph's indented first line stays in its block.
_INDENT = 0.8
_OUTDENT = 3.0
# White space across the whole page at least this many text heights tall separates
# sections; a paragraph gap (about a blank line) is narrower.
_SECTION_GAP = 2.0
# The line above stops short (a heading or the end of a paragraph) when the two lines
# below it reach past its end by more than this fraction of the width they all span.
# Two lines, not one: the line after a heading may itself end early, its next word
# being too long to fit.
_SHORT_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class PageLayout:
    """Blocks of line indices, in reading order, each block's lines top to bottom.

    ``skew``: the angle (degrees, counter-clockwise on screen) the page's lines were
    found to run at, relative to the reading frame. ``vertical``: the page was read as
    vertical text (columns right to left).
    """

    blocks: tuple[tuple[int, ...], ...]
    skew: float = 0.0
    vertical: bool = False

    @property
    def order(self) -> list[int]:
        """Every line index once, in reading order."""
        return [index for block in self.blocks for index in block]


@dataclasses.dataclass(frozen=True)
class _Lines:
    """Per-line measurements in the deskewed reading frame (arrays of length n)."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    height: np.ndarray  # text height: the short side of the line's rotated box
    length: np.ndarray  # the long side
    angle: np.ndarray  # of the line's long side, degrees, after deskewing
    across: np.ndarray  # the line runs across the reading frame (a vertical line on a horizontal page)

    @property
    def centre_y(self) -> np.ndarray:
        return (self.y0 + self.y1) / 2.0


def arrange_lines(polygons: Sequence[np.ndarray | Sequence[Sequence[float]]]) -> PageLayout:
    """Group line polygons (page pixels, any order) into blocks and put them in reading order.

    Any number of lines is fine: none gives no blocks, one gives one block. A polygon
    that is not an ``[N, 2]`` array of finite numbers raises :class:`InputImageError`.
    """
    points = [_as_points(polygon, index) for index, polygon in enumerate(polygons)]
    if not points:
        return PageLayout(blocks=())
    directions = [_direction(p) for p in points]
    votes = [angle for angle, elongation, _ in directions if elongation >= _ELONGATED]
    vertical = sum(abs(a) > 45.0 for a in votes) > sum(abs(a) <= 45.0 for a in votes)
    if vertical:
        # A quarter turn counter-clockwise: lines running down now run right, and the
        # rightmost column is on top.
        points = [_turn(p, 90.0) for p in points]
        directions = [_direction(p) for p in points]
    skew = _skew(directions)
    lines = _measure([_turn(p, -skew) for p in points], directions, skew)
    blocks = _blocks(lines)
    order = [i for section in _sections(lines, blocks) for i in _block_order(lines, blocks, section)]
    return PageLayout(blocks=tuple(tuple(blocks[i]) for i in order), skew=skew, vertical=vertical)


def _as_points(polygon: np.ndarray | Sequence[Sequence[float]], index: int) -> np.ndarray:
    try:
        array = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputImageError(f"line {index}: a polygon must be numbers, not {type(polygon).__name__}") from error
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 1:
        raise InputImageError(f"line {index}: a polygon must be an [N, 2] array of (x, y) points, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputImageError(f"line {index}: the polygon has NaN or infinite coordinates")
    return array


def _turn(points: np.ndarray, degrees: float) -> np.ndarray:
    """``points`` turned counter-clockwise on screen (y pointing down) about the origin."""
    if degrees == 0.0:
        return points
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    x, y = points[:, 0], points[:, 1]
    return np.stack([cos * x + sin * y, -sin * x + cos * y], axis=1)


def _direction(points: np.ndarray) -> tuple[float, float, float]:
    """(angle of the long side in degrees (-90, 90], elongation, short side) of the rotated box."""
    corners = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float64)
    first, second = corners[1] - corners[0], corners[2] - corners[1]
    long_side, short_side = (first, second) if np.hypot(*first) >= np.hypot(*second) else (second, first)
    length, thickness = float(np.hypot(*long_side)), float(np.hypot(*short_side))
    # Counter-clockwise on screen is up, i.e. negative y.
    angle = float(np.degrees(np.arctan2(-long_side[1], long_side[0])))
    if angle <= -90.0:
        angle += 180.0
    elif angle > 90.0:
        angle -= 180.0
    return angle, length / max(thickness, 1e-9), thickness


def _skew(directions: list[tuple[float, float, float]]) -> float:
    """The length-weighted median angle of the elongated lines that run along the frame (0 without any)."""
    along = [(angle, elongation * thickness) for angle, elongation, thickness in directions if elongation >= _ELONGATED]
    along = [(angle, length) for angle, length in along if abs(angle) <= 45.0]
    if not along:
        return 0.0
    angles, weights = np.array(along).T
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _measure(points: list[np.ndarray], directions: list[tuple[float, float, float]], skew: float) -> _Lines:
    angles = np.array([angle - skew for angle, _, _ in directions])
    elongation = np.array([e for _, e, _ in directions])
    return _Lines(
        x0=np.array([p[:, 0].min() for p in points]),
        y0=np.array([p[:, 1].min() for p in points]),
        x1=np.array([p[:, 0].max() for p in points]),
        y1=np.array([p[:, 1].max() for p in points]),
        height=np.maximum(np.array([t for _, _, t in directions]), 1.0),
        length=np.array([e * t for _, e, t in directions]),
        angle=angles,
        across=(np.abs(angles) > 45.0) & (elongation >= _ELONGATED),
    )


def _same_column(x0: np.ndarray, x1: np.ndarray, height: np.ndarray) -> np.ndarray:
    """[i, j]: boxes i and j stand in one column (False on the diagonal).

    They do when they overlap horizontally by more than a touch, or start within an
    indent of each other: a paragraph's indented first line and a last line of one
    short word share no pixel column, yet are one paragraph.
    """
    smaller = np.minimum(height[:, None], height[None, :])
    overlap = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    # The taller line gives the type size: a short word's box can be half as tall.
    aligned = np.abs(x0[:, None] - x0[None, :]) <= _OUTDENT * np.maximum(height[:, None], height[None, :])
    same = (overlap > _OVERLAP_FRACTION * smaller) | aligned
    np.fill_diagonal(same, False)
    return same


def _unblocked(first: int, others: np.ndarray, shares: np.ndarray, centre_y: np.ndarray) -> np.ndarray:
    """For each of ``others``: no box lies strictly between it and ``first`` in height while overlapping both."""
    between = (centre_y[:, None] - centre_y[first]) * (centre_y[:, None] - centre_y[others][None, :]) < 0
    return ~(between & shares[:, first][:, None] & shares[:, others]).any(axis=0)


def _nearest_row(lines: _Lines, same: np.ndarray, downwards: bool) -> np.ndarray:
    """[a, b]: b stands in a's column on the nearest row below (or above) a; a row: centres within half its text height."""
    sign = 1.0 if downwards else -1.0
    ahead = sign * lines.centre_y  # distance grows in the direction looked in
    nearest_row = np.zeros_like(same)
    for a in range(len(ahead)):
        candidates = np.flatnonzero(same[a] & (ahead > ahead[a]))
        if candidates.size:
            nearest = candidates[np.argmin(ahead[candidates])]
            nearest_row[a, candidates[ahead[candidates] < ahead[nearest] + 0.5 * lines.height[nearest]]] = True
    return nearest_row


def _continues(lines: _Lines, a: int, b: int, reach: float) -> bool:
    """Whether b, the only line directly below a (and a the only one above b), reads on in a's paragraph, gap aside.

    ``reach``: the right end of b and of the line after it.
    """
    if lines.across[a] or lines.across[b]:
        return False
    heights = lines.height[[a, b]]
    smaller = (a, b)[int(np.argmin(heights))]
    if heights.max() > _SIZE_RATIO * heights.min() and lines.length[smaller] >= _FEW_CHARACTERS * heights.min():
        return False
    # A box of a character or two has no direction worth comparing.
    elongated = min(lines.length[a] / lines.height[a], lines.length[b] / lines.height[b]) >= _ELONGATED
    if elongated and abs(lines.angle[a] - lines.angle[b]) > _ANGLE_TOLERANCE:
        return False
    size = float(heights.max())
    if lines.x0[b] - lines.x0[a] > _INDENT * size or lines.x0[a] - lines.x0[b] > _OUTDENT * size:
        return False
    return not reach - lines.x1[a] > _SHORT_FRACTION * (reach - min(lines.x0[a], lines.x0[b]))


def _blocks(lines: _Lines) -> list[list[int]]:
    """Chains of lines that read on from one to the next, each top to bottom; every line in exactly one."""
    same = _same_column(lines.x0, lines.x1, lines.height)
    below, above = _nearest_row(lines, same, downwards=True), _nearest_row(lines, same, downwards=False)
    # Only a one-to-one neighbourhood can continue a paragraph: a line above two (a
    # heading over two columns) or below two ends or starts a block.
    unique = below & above.T & (below.sum(axis=1) == 1)[:, None] & (above.sum(axis=1) == 1)[None, :]
    next_of = {int(a): int(b) for a, b in zip(*np.nonzero(unique), strict=True)}
    pairs = []
    for a, b in next_of.items():
        reach = max(lines.x1[b], lines.x1[next_of[b]]) if b in next_of else lines.x1[b]
        if _continues(lines, a, b, float(reach)):
            pairs.append((a, b))
    centre_y = lines.centre_y
    # The type size: the taller of the two boxes, or the page's usual height when both are
    # smaller (a line without descenders, a word like "on" have shorter boxes than their type).
    usual_height = float(np.median(lines.height))
    pitches = {(a, b): (centre_y[b] - centre_y[a]) / max(usual_height, *lines.height[[a, b]]) for a, b in pairs}
    # Paragraph gaps are measured against the page's own line spacing, so a double-spaced
    # page is not cut into single lines.
    usual = float(np.median(list(pitches.values()))) if pitches else 0.0
    limit = max(_PITCH_MIN, usual * _PITCH_RATIO)
    following = {a: b for (a, b), pitch in pitches.items() if pitch <= limit}
    starts = sorted(set(range(len(lines.height))) - set(following.values()), key=lambda i: (lines.y0[i], lines.x0[i]))
    blocks = []
    for start in starts:
        block = [start]
        while block[-1] in following:
            block.append(following[block[-1]])
        blocks.append(block)
    return blocks


def _sections(lines: _Lines, blocks: list[list[int]]) -> list[list[int]]:
    """Block indices grouped into sections, top to bottom.

    Sections split where white space crosses the whole page; and a block alone at the
    top of a section, with nothing beside it (a heading over the section), is a section
    of its own, however narrow it is. Not so at the bottom: that is where the longest
    column of a section ends, often below all the others.
    """
    tops = [float(lines.y0[block].min()) for block in blocks]
    bottoms = [float(lines.y1[block].max()) for block in blocks]
    band = _SECTION_GAP * float(np.median(lines.height))
    bands: list[list[int]] = []
    reach = -np.inf
    for index in sorted(range(len(blocks)), key=lambda i: tops[i]):
        if not bands or tops[index] - reach >= band:
            bands.append([])
        bands[-1].append(index)
        reach = max(reach, bottoms[index])
    sections = []
    for rest in bands:
        while len(rest) > 1 and bottoms[rest[0]] <= min(tops[i] for i in rest[1:]):
            sections.append([rest.pop(0)])
        sections.append(rest)
    return sections


def _block_order(lines: _Lines, blocks: list[list[int]], section: list[int]) -> list[int]:
    """The indices of a section's blocks in reading order: Breuel's rules, topologically sorted, top-left first among equals."""
    x0 = np.array([lines.x0[blocks[i]].min() for i in section])
    x1 = np.array([lines.x1[blocks[i]].max() for i in section])
    y0 = np.array([lines.y0[blocks[i]].min() for i in section])
    y1 = np.array([lines.y1[blocks[i]].max() for i in section])
    height = np.array([np.median(lines.height[blocks[i]]) for i in section])
    centre_y = (y0 + y1) / 2.0
    shares = _same_column(x0, x1, height)
    before = shares & (centre_y[:, None] < centre_y[None, :])
    left_of = ~shares & ((x0 + x1)[:, None] < (x0 + x1)[None, :])
    np.fill_diagonal(left_of, False)
    for a in range(len(section)):
        right = np.flatnonzero(left_of[a])
        if right.size:
            before[a, right[_unblocked(a, right, shares, centre_y)]] = True
    order = _topological(before, sorted(range(len(section)), key=lambda i: (y0[i], x0[i])))
    return [section[i] for i in order]


def _topological(before: np.ndarray, preference: list[int]) -> list[int]:
    """Kahn's sort of ``before`` ([a, b]: a precedes b), taking the most preferred ready node first.

    Contradictory rules (possible on overlapping or oddly shaped lines) form cycles; one
    is broken by releasing its most preferred node, so every node comes out exactly once.
    """
    rank = {node: position for position, node in enumerate(preference)}
    waiting = before.sum(axis=0)
    ready = [(rank[node], node) for node in preference if waiting[node] == 0]
    heapq.heapify(ready)
    done = np.zeros(len(preference), dtype=bool)
    order: list[int] = []
    while len(order) < len(preference):
        if not ready:
            node = next(node for node in preference if not done[node])
            heapq.heappush(ready, (rank[node], node))
        _, node = heapq.heappop(ready)
        if done[node]:
            continue
        done[node] = True
        order.append(node)
        for successor in np.flatnonzero(before[node]):
            waiting[successor] -= 1
            if waiting[successor] == 0 and not done[successor]:
                heapq.heappush(ready, (rank[int(successor)], int(successor)))
    return order
