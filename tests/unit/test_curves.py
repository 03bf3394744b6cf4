"""Curved lines from outlines (geometry/curves.py): fitting, bending, snugging to ink, and bad outlines."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from shapely.geometry import Polygon

from difftsr_ocr.evaluation.metrics import polygon_iou
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.evaluation.synthetic.variants import arc_curve
from difftsr_ocr.geometry import line_height, line_polygon, rectify_line
from difftsr_ocr.geometry.curves import (
    STRAIGHT_BEND,
    line_bend,
    line_from_outline,
    region_from_outline,
    snug_to_ink,
    valid_outline,
)


def _arc_band(degrees: float, length: float = 600.0, height: float = 40.0, grow: float = 8.0) -> np.ndarray:
    """The outline of a band of ``height`` bent into an arc turning by ``degrees``, grown round by ``grow``."""
    if degrees == 0:
        ring = np.array([[100.0, 100.0], [100.0 + length, 100.0], [100.0 + length, 100.0 + height], [100.0, 140.0]])
    else:
        turn = math.radians(degrees)
        radius = length / turn
        phi = np.linspace(-turn / 2.0, turn / 2.0, 64)
        centre = np.array([500.0, 200.0 + radius])
        outer = centre + np.stack([(radius + height / 2) * np.sin(phi), -(radius + height / 2) * np.cos(phi)], 1)
        inner = centre + np.stack([(radius - height / 2) * np.sin(phi), -(radius - height / 2) * np.cos(phi)], 1)
        ring = np.concatenate([outer, inner[::-1]])
    return np.asarray(Polygon(ring).buffer(grow).exterior.coords[:-1])


@pytest.mark.parametrize("degrees", [20.0, 60.0, 120.0, 150.0])
def test_arc_outlines_become_polygons_that_cover_them(degrees: float) -> None:
    outline = _arc_band(degrees)
    polygon = line_from_outline(outline)
    assert polygon is not None
    assert len(polygon) > 4 and len(polygon) % 2 == 0
    assert Polygon(polygon).is_valid
    assert polygon_iou(polygon, outline) > 0.9
    # Top edge first, left to right: the ring is clockwise on screen (positive shoelace area, y down).
    x, y = polygon[:, 0], polygon[:, 1]
    assert 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) > 0
    assert polygon[0, 0] < polygon[len(polygon) // 2 - 1, 0]


def test_bend_grows_with_the_arc_and_a_straight_band_is_a_quad() -> None:
    straight = line_from_outline(_arc_band(0.0))
    assert straight is not None and len(straight) == 4
    assert line_bend(straight) == pytest.approx(0.0, abs=1e-6)
    bends = [line_bend(line_from_outline(_arc_band(d))) for d in (20.0, 60.0, 120.0)]
    assert STRAIGHT_BEND < bends[0] < bends[1] < bends[2]


def test_height_follows_the_band_not_its_box() -> None:
    polygon = line_from_outline(_arc_band(120.0, height=40.0, grow=8.0))
    # The grown band is 56 px high; its bounding box is several times that.
    assert line_height(polygon) == pytest.approx(56.0, rel=0.1)


@pytest.mark.parametrize(
    "points",
    [
        [[0.0, 0.0], [10.0, 10.0]],  # under 3 points
        [[0.0, 0.0], [10.0, 10.0], [20.0, 20.0]],  # collinear: no area
        [[5.0, 5.0]] * 4,  # one point four times
        [[0.0, 0.0], [np.nan, 1.0], [3.0, 3.0], [0.0, 4.0]],  # not finite
    ],
)
def test_outlines_without_area_give_none(points: list[list[float]]) -> None:
    assert valid_outline(np.array(points)) is None
    assert line_from_outline(np.array(points)) is None
    assert region_from_outline(np.array(points)) is None


def test_a_self_crossing_outline_is_read_as_its_largest_piece() -> None:
    bow_tie = np.array([[0.0, 0.0], [200.0, 40.0], [200.0, 0.0], [0.0, 40.0]])
    region = region_from_outline(bow_tie)
    assert region is not None and len(region) == 4
    assert Polygon(region).is_valid and Polygon(region).area > 0


def test_steep_outlines_are_not_bent() -> None:
    column = _arc_band(60.0)[:, ::-1]  # the arc turned onto its side
    assert line_from_outline(column) is None
    assert len(region_from_outline(column)) == 4


def test_region_from_outline_keeps_straight_lines_as_quads() -> None:
    assert len(region_from_outline(_arc_band(0.0))) == 4
    assert len(region_from_outline(_arc_band(90.0))) > 4
    assert len(region_from_outline(_arc_band(90.0), bend=False)) == 4


def test_snug_to_ink_moves_a_fat_polygon_onto_the_text() -> None:
    spec = LineSpec("Curved signage text here", 150, 200, size=40, curve=arc_curve(90.0))
    page, (truth,) = render_lines([spec], size=(1000, 600))
    # Twice as high as the text and off to one side: what DB's map of a bent line gives.
    top, bottom = truth.polygon[:16].astype(np.float64), truth.polygon[16:][::-1].astype(np.float64)
    across = bottom - top
    fat = np.concatenate([top - 0.9 * across, (bottom + 0.2 * across)[::-1]])
    snug = snug_to_ink(page, fat)
    assert polygon_iou(snug, truth.polygon) > polygon_iou(fat, truth.polygon) + 0.2
    assert polygon_iou(snug, truth.polygon) > 0.7


def test_snug_to_ink_leaves_a_blank_line_alone() -> None:
    page = np.full((300, 600, 3), 200, np.uint8)
    polygon = line_polygon([[100.0, 100.0], [500.0, 100.0], [500.0, 160.0], [100.0, 160.0]])
    np.testing.assert_array_equal(snug_to_ink(page, polygon), polygon)


def test_a_fitted_arc_rectifies_into_a_straight_line() -> None:
    spec = LineSpec("Curved signage text here", 150, 200, size=40, curve=arc_curve(120.0))
    page, (truth,) = render_lines([spec], size=(1000, 600))
    polygon = line_from_outline(np.asarray(Polygon(truth.polygon).buffer(6).exterior.coords[:-1]))
    crop, _ = rectify_line(page, polygon)
    ink_rows = np.flatnonzero((crop.min(axis=2) < 128).any(axis=1))
    # Straightened, the glyphs fill one band no taller than the polygon's height allows.
    assert ink_rows[-1] - ink_rows[0] < 1.3 * 40
    assert crop.shape[1] > 5 * crop.shape[0]


def test_curves_do_not_import_torch() -> None:
    code = "import sys, difftsr_ocr.geometry.curves, difftsr_ocr.detect.postprocess; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
