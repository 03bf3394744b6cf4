"""Putting lines on a page without overlap: shared by every layout family."""

from __future__ import annotations

import dataclasses

import numpy as np
from shapely.geometry import Polygon

from difftsr_ocr.evaluation.synthetic.render import LineSpec, line_extent, line_outline

__all__ = ["EDGE", "Placer", "fit"]

EDGE = 10  # every polygon keeps this far from the page border
_CLEARANCE = 2.0  # and this far from every other line's polygon


class Placer:
    """Accepts a polygon only inside the page margin and clear of every line placed so far."""

    def __init__(self, width: int, height: int) -> None:
        self._box = (EDGE, EDGE, width - EDGE, height - EDGE)
        self._placed: list[Polygon] = []

    def fits(self, outline: np.ndarray) -> bool:
        x0, y0, x1, y1 = self._box
        if outline[:, 0].min() < x0 or outline[:, 1].min() < y0 or outline[:, 0].max() > x1 or outline[:, 1].max() > y1:
            return False
        shape = Polygon(outline)
        return all(shape.distance(other) >= _CLEARANCE for other in self._placed)

    def add(self, outline: np.ndarray) -> None:
        self._placed.append(Polygon(outline))

    def place(self, spec: LineSpec) -> bool:
        outline = line_outline(spec)
        if not self.fits(outline):
            return False
        self.add(outline)
        return True


def fit(spec: LineSpec, max_width: float, min_size: int) -> LineSpec | None:
    """The spec at the largest size (down from its own) whose box is at most max_width wide."""
    while True:
        x0, _, x1, _ = line_extent(spec)
        if x1 - x0 <= max_width:
            return spec
        if spec.size <= min_size:
            return None
        spec = dataclasses.replace(spec, size=max(min_size, int(spec.size * 0.9)))
