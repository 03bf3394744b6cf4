"""The document layout family: printed pages on paper."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from difftsr_ocr.evaluation.synthetic.phrases import PhrasePicker
from difftsr_ocr.evaluation.synthetic.placement import EDGE, Placer, fit
from difftsr_ocr.evaluation.synthetic.render import LineSpec, line_extent

__all__ = ["plan_document"]


def _fit_long(spec: LineSpec, max_width: float) -> LineSpec | None:
    fitted = fit(spec, max_width, 16)
    words = spec.text.split(" ")
    while fitted is None and len(words) > 1:
        words = words[:-1]
        if len(" ".join(words)) <= 24:
            return None
        fitted = fit(dataclasses.replace(spec, size=16, text=" ".join(words)), max_width, 16)
    return fitted


def _paper(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """White or slightly tinted paper with very faint, low-frequency shading."""
    if rng.random() < 0.5:
        tint = 255.0 - rng.uniform(0.0, 3.0, 3)
    else:  # cream, greyish or bluish paper
        tint = 255.0 - np.array([rng.uniform(0, 8), rng.uniform(2, 12), rng.uniform(4, 24)])
    grid = rng.uniform(0.0, 1.0, (3, 4)).astype(np.float32)
    shading = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    shading = -float(rng.uniform(2.0, 6.0)) * np.clip(shading, 0.0, 1.0)
    page = tint[None, None, :].astype(np.float32) + shading[:, :, None]
    return np.clip(np.rint(page), 0, 255).astype(np.uint8)


def plan_document(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, list[LineSpec]]:
    """A printed page: title, body lines top to bottom, and a vertical CJK line in a right column."""
    background = _paper(rng, width, height)
    texts = PhrasePicker(rng)
    if rng.random() < 0.5:
        ink = tuple(int(c) for c in rng.integers(0, 30, 3))
    else:  # dark blue
        ink = (int(rng.integers(10, 40)), int(rng.integers(25, 60)), int(rng.integers(100, 140)))
    left = int(rng.integers(50, 91))
    top = int(rng.integers(40, 81))
    bottom = height - EDGE - int(rng.integers(20, 51))

    vertical = LineSpec(texts.cjk(3, 6), 0.0, 0.0, size=int(rng.integers(32, 45)), vertical=True, font="cjk", color=ink)
    vx0, vy0, vx1, vy1 = line_extent(vertical)
    column_x = width - EDGE - (vx1 - vx0) - int(rng.integers(8, 31))
    right = column_x - 20  # body text stays left of the vertical line's column
    room = right - left

    title_text = texts.latin(26)
    if rng.random() < 0.3:
        title_text = title_text.upper()
    title = fit(LineSpec(title_text, 0.0, 0.0, size=int(rng.integers(36, 45)), font="latin_bold", color=ink), room, 24)

    n_lines = int(rng.integers(9, 15))
    n_cjk, n_long = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    columns = rng.random() < 0.5
    n_plain = n_lines - 2 - n_cjk - n_long - 1 - (2 if columns else 0)
    kinds = ["cjk"] * n_cjk + ["long"] * n_long + ["rotated"] + ["columns"] * int(columns) + ["plain"] * n_plain
    kinds = [kinds[int(index)] for index in rng.permutation(len(kinds))]

    # Each row: its specs at x offsets from the left margin, positioned at y = 0 for now.
    rows: list[tuple[str, list[tuple[float, LineSpec]]]] = []
    for kind in kinds:
        size = int(rng.integers(20, 33))
        row: list[tuple[float, LineSpec]] = []
        if kind == "cjk":
            text = texts.cjk(2, 8)
            if rng.random() < 0.5:
                text = f"{text} {texts.cjk(2, 6)}"
            spec = fit(LineSpec(text, 0.0, 0.0, size=size, font="cjk", color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        elif kind == "long":
            spec = _fit_long(LineSpec(texts.long(), 0.0, 0.0, size=size, color=ink), room)
            row = [(0.0, spec)] if spec else []
        elif kind == "rotated":
            angle = float(rng.uniform(5.0, 15.0)) * (1 if rng.random() < 0.5 else -1)
            spec = fit(LineSpec(texts.latin(28), 0.0, 0.0, size=size, angle=angle, color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        elif kind == "columns":
            size = min(size, 28)
            first = fit(LineSpec(texts.latin(20), 0.0, 0.0, size=size, color=ink), room * 0.45, 16)
            second = fit(LineSpec(texts.latin(20), 0.0, 0.0, size=size, color=ink), room * 0.45, 16)
            if first and second:
                shared = min(first.size, second.size)
                first, second = dataclasses.replace(first, size=shared), dataclasses.replace(second, size=shared)
                row = [(0.0, first), (room * float(rng.uniform(0.5, 0.55)), second)]
        else:
            spec = fit(LineSpec(texts.latin(36), 0.0, 0.0, size=size, color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        if row:
            rows.append((kind, row))

    def row_height(row: list[tuple[float, LineSpec]]) -> float:
        return max(line_extent(spec)[3] - line_extent(spec)[1] for _, spec in row)

    # Share the free height out as gaps; drop plain rows first when the page is too short.
    title_height = (line_extent(title)[3] - line_extent(title)[1]) if title else 0.0
    while rows:
        free = bottom - top - title_height - sum(row_height(row) for _, row in rows)
        if free >= 6.0 * len(rows):
            break
        plain = [index for index, (kind, _) in enumerate(rows) if kind == "plain"]
        rows.pop(plain[-1] if plain else len(rows) - 1)
    free = bottom - top - title_height - sum(row_height(row) for _, row in rows)
    weights = rng.uniform(0.7, 1.3, len(rows))
    natural = rng.uniform(0.7, 2.2, len(rows))

    placer = Placer(width, height)
    specs: list[LineSpec] = []

    def put(spec: LineSpec, x: float, y: float) -> None:
        x0, y0, _, _ = line_extent(spec)
        placed = dataclasses.replace(spec, x=float(x - x0), y=float(y - y0))
        if placer.place(placed):
            specs.append(placed)

    cursor = float(top)
    if title:
        title_width = line_extent(title)[2] - line_extent(title)[0]
        title_x = left if rng.random() < 0.6 else left + (room - title_width) / 2.0
        put(title, title_x, cursor)
        cursor += title_height
    for index, (_, row) in enumerate(rows):
        height_here = row_height(row)
        gap = max(4.0, min(free * weights[index] / weights.sum(), natural[index] * row[0][1].size))
        cursor += gap
        for offset, spec in row:
            put(spec, left + offset, cursor)
        cursor += height_here

    lowest = float(height - EDGE - (vy1 - vy0) - 5)
    if lowest >= top:
        put(vertical, column_x, float(rng.uniform(top, lowest)))
    return background, specs
