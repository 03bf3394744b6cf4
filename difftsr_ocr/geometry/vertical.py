"""Vertical CJK columns laid out as an upright horizontal line, and stacked back.

Restorers and recognisers are trained on horizontal lines of upright glyphs. Turning a
column 90 degrees (PP-OCR's way) makes a horizontal line of glyphs lying on their side;
instead the upright column is cut into character cells, and the cells are set side by
side, each still upright. :func:`stack_back` is the exact inverse for a strip at any
resolution: the cells partition the column, so every column pixel comes back from the
one strip pixel it went to.

A column here is the rectified crop of a vertical line before any turn: glyphs upright,
reading top to bottom, ``H x W x 3`` uint8. Cells are bands of whole rows, ``[n, 2]``
(first row, end row) that cover ``[0, H)`` in order without gaps or overlap.
"""

from __future__ import annotations

import dataclasses
import itertools

import cv2
import numpy as np

__all__ = ["StripLayout", "character_cells", "lay_out_horizontally", "stack_back"]

# Below this grey-level spread a column holds no ink worth cutting by (paper, or noise).
_MIN_CONTRAST = 40
# Runs of ink spanning at most this many glyph sizes may be parts of one character (the
# strokes of 二, the parts of 旦); CJK glyphs are about square, so a character's ink is
# at most about one glyph size tall.
_MERGE_UP_TO = 1.15
# How many pitches between one and _SPLIT_ABOVE glyph sizes the grouping tries.
_PITCHES_TRIED = 11
# A run of ink taller than this many glyph sizes holds touching characters: split it
# evenly into square cells.
_SPLIT_ABOVE = 1.5
# OpenCV's median filter of 8-bit images takes odd apertures up to this size.
_MAX_MEDIAN = 255
# A row or column holds ink when this share of the busiest one does (specks of noise
# and JPEG ringing stay below it).
_INK_SHARE = 0.05


@dataclasses.dataclass(frozen=True, eq=False)
class StripLayout:
    """Where a column's character cells sit in the horizontal strip laid out from it.

    ``cells`` are the column's row bands (see the module); cell ``i`` sits in the strip
    at x ``i * column_width``, centred vertically; ``strip_size`` and ``column_size`` are
    ``(width, height)``.
    """

    cells: np.ndarray
    column_size: tuple[int, int]
    strip_size: tuple[int, int]

    def strip_top(self, index: int) -> int:
        """The strip row where cell ``index`` starts."""
        height = int(self.cells[index, 1] - self.cells[index, 0])
        return (self.strip_size[1] - height) // 2


def character_cells(column: np.ndarray) -> np.ndarray:
    """The column's character cells from its row profile of ink, ``[n, 2]`` row bands.

    Cuts fall in the middle of the gaps between characters. Where there are no clear
    gaps (touching glyphs) a run of ink is split evenly into square cells of the ink's
    width; a column without ink is split into square cells of its own width. A column
    of one character is one cell.
    """
    height, width = column.shape[:2]
    ink = _ink(column)
    if ink is None:
        return np.array(_even_cells(0, height, width), dtype=np.int64)
    columns = np.flatnonzero(ink.sum(axis=0) >= _INK_SHARE * ink.sum(axis=0).max())
    glyph = float(columns[-1] - columns[0] + 1)
    rows = ink.sum(axis=1) >= _INK_SHARE * ink.sum(axis=1).max()
    characters = []
    for start, end in _merge_parts(_runs(rows), glyph):
        if end - start > _SPLIT_ABOVE * glyph:
            characters.extend(_even_cells(start, end, glyph))
        else:
            characters.append((start, end))
    # Each cut halves the gap between two characters; the ends reach the column's edges.
    cuts = [0] + [(characters[i][1] + characters[i + 1][0]) // 2 for i in range(len(characters) - 1)] + [height]
    return np.array([cuts[:-1], cuts[1:]], dtype=np.int64).T


def lay_out_horizontally(column: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, StripLayout]:
    """The cells of ``column`` side by side, left to right, upright; and where each went.

    The strip is as tall as the tallest cell; shorter cells are centred on their own
    paper colour, which :func:`stack_back` never reads.
    """
    height, width = column.shape[:2]
    cells = np.asarray(cells, dtype=np.int64)
    if cells.ndim != 2 or cells.shape[1] != 2 or len(cells) == 0:
        raise ValueError(f"cells must be a non-empty [n, 2] array of row bands, got shape {cells.shape}")
    if (
        cells[0, 0] != 0
        or cells[-1, 1] != height
        or np.any(cells[1:, 0] != cells[:-1, 1])
        or np.any(cells[:, 1] <= cells[:, 0])
    ):
        raise ValueError(f"cells must cover rows 0..{height} in order without gaps, got {cells.tolist()}")
    strip_height = int((cells[:, 1] - cells[:, 0]).max())
    layout = StripLayout(cells=cells, column_size=(width, height), strip_size=(width * len(cells), strip_height))
    strip = np.empty((strip_height, width * len(cells), column.shape[2]), column.dtype)
    for index, (start, end) in enumerate(cells):
        cell = column[start:end]
        across = slice(index * width, (index + 1) * width)
        # The cell's own paper colour around it: a photo's backdrop changes along the column.
        strip[:, across] = np.median(cell.reshape(-1, cell.shape[2]), axis=0).astype(column.dtype)
        top = layout.strip_top(index)
        strip[top : top + end - start, across] = cell
    return strip, layout


def stack_back(strip: np.ndarray, layout: StripLayout) -> np.ndarray:
    """The column from a (restored) ``strip`` at the strip's own resolution.

    The strip may be any size (a restorer answers at its own resolution); the column
    comes back at the same pixels per strip pixel, so a strip of the laid-out size, or a
    whole multiple of it, gives the column back pixel for pixel.
    """
    width, height = layout.column_size
    factor_x = strip.shape[1] / layout.strip_size[0]
    factor_y = strip.shape[0] / layout.strip_size[1]
    out_width = max(1, round(width * factor_x))
    column = np.empty((max(1, round(height * factor_y)), out_width, strip.shape[2]), strip.dtype)
    for index, (start, end) in enumerate(layout.cells):
        top = layout.strip_top(index)
        rows = slice(round(start * factor_y), round(end * factor_y))
        piece = strip[
            round(top * factor_y) : round((top + end - start) * factor_y),
            round(index * width * factor_x) : round((index + 1) * width * factor_x),
        ]
        target = (out_width, rows.stop - rows.start)
        if target[1] < 1:
            continue
        if piece.shape[1::-1] != target:
            # A fractional scale leaves a cell a pixel off its share; resample that one cell.
            piece = cv2.resize(np.ascontiguousarray(piece), target, interpolation=cv2.INTER_LINEAR)
        column[rows] = piece.reshape(target[1], target[0], strip.shape[2])
    return column


def _ink(column: np.ndarray) -> np.ndarray | None:
    """Where the column holds ink (bool, ``H x W``), dark on light or light on dark; None without ink."""
    gray = np.ascontiguousarray(cv2.cvtColor(column, cv2.COLOR_RGB2GRAY) if column.shape[2] == 3 else column[..., 0])
    if min(gray.shape) < 3:
        return None
    # Strokes are thin beside a glyph: a median over half the column's width is the paper
    # behind them, even where a photo's backdrop changes colour across the column.
    reach = min(min(gray.shape) // 2 * 2 + 1, _MAX_MEDIAN)
    contrast = cv2.absdiff(gray, cv2.medianBlur(gray, reach))
    if int(contrast.max()) < _MIN_CONTRAST:
        return None
    # A 3x3 median keeps strokes and drops the single-pixel noise Otsu would count as ink.
    _, ink = cv2.threshold(cv2.medianBlur(contrast, 3), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = ink > 0
    return ink if ink.any() else None


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``flags``."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2], strict=True)]


def _merge_parts(runs: list[tuple[int, int]], glyph: float) -> list[tuple[int, int]]:
    """Neighbouring runs of ink grouped into characters, set at the column's steady pitch.

    Joining runs while they fit one glyph height drifts out of step on strokes with wide
    gaps (一 and the top stroke of 二 fit one glyph). Glyphs sit centred in cells of a
    steady pitch, so the grouping wins whose character centres step most evenly at one
    pitch (least squares over all groupings, by dynamic programming), tried at pitches
    from one to ``_SPLIT_ABOVE`` glyph sizes.
    """
    best: tuple[float, list[tuple[int, int]]] = (np.inf, [])
    for pitch in np.linspace(glyph, _SPLIT_ABOVE * glyph, _PITCHES_TRIED):
        cost, groups = _group_at_pitch(runs, glyph, float(pitch))
        if cost < best[0]:
            best = (cost, groups)
    return [(runs[start][0], runs[end - 1][1]) for start, end in best[1]]


def _group_at_pitch(runs: list[tuple[int, int]], glyph: float, pitch: float) -> tuple[float, list[tuple[int, int]]]:
    """The mean squared step error and (first run, end run) of each group, at ``pitch``."""

    def centre(start: int, end: int) -> float:
        return (runs[start][0] + runs[end - 1][1]) / 2.0

    # Groups ending at each run: a single run, or runs together at most about a glyph tall.
    ending: list[list[int]] = [[] for _ in range(len(runs) + 1)]
    for end in range(1, len(runs) + 1):
        start = end - 1
        while start >= 0 and (start == end - 1 or runs[end - 1][1] - runs[start][0] <= _MERGE_UP_TO * glyph):
            ending[end].append(start)
            start -= 1
    # best[(start, end)]: (squared error, steps, previous start) of the runs up to end, last group start..end.
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for end in range(1, len(runs) + 1):
        for start in ending[end]:
            if start == 0:
                best[(0, end)] = (0.0, 0, -1)
                continue
            options = [
                (
                    best[(before, start)][0] + (centre(start, end) - centre(before, start) - pitch) ** 2,
                    best[(before, start)][1] + 1,
                    before,
                )
                for before in ending[start]
            ]
            best[(start, end)] = min(options)
    last = min(ending[len(runs)], key=lambda start: best[(start, len(runs))][0])
    error, steps = best[(last, len(runs))][:2]
    groups, start, end = [], last, len(runs)
    while end > 0:
        groups.append((start, end))
        start, end = best[(start, end)][2], start
    return error / max(steps, 1), groups[::-1]


def _even_cells(start: int, end: int, size: float) -> list[tuple[int, int]]:
    """Rows ``[start, end)`` split into cells of about ``size`` rows (at least one cell)."""
    count = max(1, min(end - start, round((end - start) / max(size, 1.0))))
    bounds = np.round(np.linspace(start, end, count + 1)).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
