"""Vertical CJK columns cut into characters, laid out upright, and stacked back exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from difftsr_ocr.config import LinesConfig
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.geometry.polygons import pad_polygon
from difftsr_ocr.geometry.rectify import rectify_line, turn_over, unrectify, upright_column
from difftsr_ocr.geometry.vertical import character_cells, lay_out_horizontally, stack_back
from tests.unit.geometry_helpers import range_error

SIZE = 40
PAGE = (300, 560)
# Strokes with wide gaps inside one character (一二三, 旦, 小川) are what a plain
# projection profile over-cuts.
TEXTS = ["竖排文字", "三二一旦晶", "一二三四五六七", "小川三号音", "二一一二"]


def _column(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A page with one vertical column of ``text`` and its padded polygon on whole pixels."""
    page, lines = render_lines([LineSpec(text, 100, 20, size=SIZE, vertical=True, font="cjk")], size=PAGE)
    padded = pad_polygon(lines[0].polygon, PAGE)
    x0, y0 = np.floor(padded.min(axis=0))
    x1, y1 = np.ceil(padded.max(axis=0))
    return page, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _upright_column(page: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    (x0, y0), (x1, y1) = polygon[0].astype(int), polygon[2].astype(int)
    return page[y0:y1, x0:x1]


@pytest.mark.parametrize("text", TEXTS)
def test_a_column_is_cut_once_between_each_two_characters(text: str) -> None:
    page, polygon = _column(text)
    column = _upright_column(page, polygon)
    cells = character_cells(column)
    assert len(cells) == len(text)
    assert cells[0, 0] == 0 and cells[-1, 1] == column.shape[0] and np.array_equal(cells[1:, 0], cells[:-1, 1])
    # No cut runs through a stroke.
    ink = column.min(axis=2) < 128
    assert not ink[cells[1:, 0]].any()


@pytest.mark.parametrize("text", TEXTS[:3])
def test_the_strip_sets_the_characters_upright_left_to_right(text: str) -> None:
    page, polygon = _column(text)
    column = _upright_column(page, polygon)
    strip, warp = rectify_line(page, polygon)
    assert warp.rotated and warp.strip is not None
    width = column.shape[1]
    assert strip.shape[1] == width * len(text) and warp.output_size == (strip.shape[1], strip.shape[0])
    for index, (start, end) in enumerate(warp.strip.cells):
        top = warp.strip.strip_top(index)
        assert np.array_equal(strip[top : top + end - start, index * width : (index + 1) * width], column[start:end])


@pytest.mark.parametrize("text", TEXTS)
def test_an_identity_restorer_gives_an_axis_aligned_column_back_bit_exact(text: str) -> None:
    page, polygon = _column(text)
    strip, warp = rectify_line(page, polygon)
    patch = unrectify(strip, warp)
    x0, y0, x1, y1 = patch.bbox
    assert patch.mask.all() and np.array_equal(patch.image, page[y0:y1, x0:x1])


@pytest.mark.parametrize("factor", [2, 4])
def test_a_strip_restored_at_a_whole_multiple_stacks_back_pixel_for_pixel(factor: int) -> None:
    page, polygon = _column(TEXTS[1])
    column = _upright_column(page, polygon)
    strip, layout = lay_out_horizontally(column, character_cells(column))
    big = cv2.resize(strip, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    expected = cv2.resize(column, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(stack_back(big, layout), expected)


def test_a_restorer_resolution_goes_back_onto_the_page_within_resampling_tolerance() -> None:
    page, polygon = _column(TEXTS[0])
    strip, warp = rectify_line(page, polygon)
    big = cv2.resize(strip, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    patch = unrectify(big, warp)
    x0, y0, x1, y1 = patch.bbox
    # As for any line (tests/unit/test_geometry.py): what the page holds within a pixel, a few levels of slack.
    assert patch.mask.all() and range_error(patch.image, page[y0:y1, x0:x1]).max() <= 8
    odd = cv2.resize(strip, (round(strip.shape[1] * 1.7), round(strip.shape[0] * 1.3)), interpolation=cv2.INTER_AREA)
    column = stack_back(odd, warp.strip)
    # The column comes back at the strip's own pixels per laid-out pixel, along each axis.
    per_x, per_y = odd.shape[1] / strip.shape[1], odd.shape[0] / strip.shape[0]
    assert column.shape[:2] == (round((y1 - y0) * per_y), round((x1 - x0) * per_x))


def test_a_single_character_column_is_one_cell() -> None:
    page, lines = render_lines([LineSpec("国", 40, 20, size=SIZE, vertical=True, font="cjk")], size=(200, 200))
    padded = pad_polygon(lines[0].polygon, (200, 200))
    x0, y0 = np.floor(padded.min(axis=0)).astype(int)
    x1, y1 = np.ceil(padded.max(axis=0)).astype(int)
    # Stretched three times its height, as a detector may hand over a lone glyph with its margin.
    column = np.full((3 * (y1 - y0), x1 - x0, 3), 255, np.uint8)
    column[y1 - y0 : 2 * (y1 - y0)] = page[y0:y1, x0:x1]
    cells = character_cells(column)
    assert len(cells) == 1 and tuple(cells[0]) == (0, column.shape[0])
    strip, layout = lay_out_horizontally(column, cells)
    assert np.array_equal(strip, column) and np.array_equal(stack_back(strip, layout), column)


def test_touching_glyphs_fall_back_to_square_cells_of_the_ink_width() -> None:
    column = np.full((200, 60, 3), 255, np.uint8)
    # Strokes 40 wide over 160 rows, joined by a stem: ink on every row, no gap anywhere.
    column[20:180, 29:32] = 0
    for row in range(20, 180, 8):
        column[row : row + 3, 10:50] = 0
    cells = character_cells(column)
    assert len(cells) == 4 and np.abs(cells[1:, 0] - [60, 100, 140]).max() <= 1
    strip, layout = lay_out_horizontally(column, cells)
    assert np.array_equal(stack_back(strip, layout), column)


@pytest.mark.parametrize("shape", [(300, 50), (1, 50), (50, 1), (2, 2)])
def test_an_empty_or_tiny_column_is_a_defined_result(shape: tuple[int, int]) -> None:
    column = np.full((*shape, 3), 230, np.uint8)
    cells = character_cells(column)
    assert cells[0, 0] == 0 and cells[-1, 1] == shape[0] and np.all(cells[:, 1] > cells[:, 0])
    # A blank column is cut into square cells of its own width.
    assert len(cells) == max(1, min(shape[0], round(shape[0] / shape[1])))
    strip, layout = lay_out_horizontally(column, cells)
    assert np.array_equal(stack_back(strip, layout), column)


def test_cells_that_do_not_cover_the_column_are_refused() -> None:
    column = np.full((100, 40, 3), 255, np.uint8)
    with pytest.raises(ValueError, match="cover rows"):
        lay_out_horizontally(column, np.array([[0, 40], [50, 100]]))
    with pytest.raises(ConfigError, match="vertical_layout"):
        LinesConfig(vertical_layout="sideways")


def test_the_rotated_layout_turns_the_column_as_ppocr_does() -> None:
    page, polygon = _column(TEXTS[0])
    crop, warp = rectify_line(page, polygon, upright_columns=False)
    assert warp.strip is None and np.array_equal(crop, np.rot90(_upright_column(page, polygon)))
    assert np.array_equal(unrectify(crop, warp).image, _upright_column(page, polygon))


@pytest.mark.parametrize("text", TEXTS[:2])
def test_a_turned_column_laid_out_again_is_the_upright_cut(text: str) -> None:
    page, polygon = _column(text)
    turned, turned_warp = rectify_line(page, polygon, upright_columns=False)
    strip, warp = upright_column(turned, turned_warp)
    expected, expected_warp = rectify_line(page, polygon, upright_columns=True)
    assert np.array_equal(strip, expected)
    assert warp.strip is not None and expected_warp.strip is not None
    assert np.array_equal(warp.strip.cells, expected_warp.strip.cells)
    assert (warp.strip.column_size, warp.strip.strip_size) == (
        expected_warp.strip.column_size,
        expected_warp.strip.strip_size,
    )
    with pytest.raises(ValueError, match="vertical line turned 90 degrees"):
        upright_column(strip, warp)
    with pytest.raises(ValueError, match="vertical line turned 90 degrees"):
        upright_column(*turn_over(turned, turned_warp))
