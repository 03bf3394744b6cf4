"""Page layout on line boxes: blocks, columns and reading order (torch-free)."""

from __future__ import annotations

import numpy as np
import pytest

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.geometry.layout import PageLayout, arrange_lines

CENTRE = np.array([500.0, 700.0])


def _box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _turned(polygon: np.ndarray, degrees: float) -> np.ndarray:
    """``polygon`` turned counter-clockwise on screen about the page centre."""
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    d = polygon - CENTRE
    return np.stack([cos * d[:, 0] + sin * d[:, 1], -sin * d[:, 0] + cos * d[:, 1]], axis=1) + CENTRE


def _column(x: float, y: float, rows: int, *, width: float = 380.0, pitch: float = 28.0) -> list[np.ndarray]:
    """A paragraph: full lines of a column, the last one ending early."""
    return [
        _box(x, y + r * pitch, x + (width * 0.45 if r == rows - 1 else width), y + r * pitch + 22) for r in range(rows)
    ]


def _arrange_shuffled(polygons: list[np.ndarray], seed: int = 0) -> tuple[list[int], list[list[int]], PageLayout]:
    """Layout of the polygons fed in a random order, mapped back to their original indices."""
    shuffle = np.random.default_rng(seed).permutation(len(polygons))
    layout = arrange_lines([polygons[i] for i in shuffle])
    blocks = [[int(shuffle[i]) for i in block] for block in layout.blocks]
    return [i for block in blocks for i in block], blocks, layout


def _numbered(groups: list[list[np.ndarray]]) -> tuple[list[np.ndarray], list[list[int]]]:
    polygons, blocks = [], []
    for group in groups:
        blocks.append(list(range(len(polygons), len(polygons) + len(group))))
        polygons.extend(group)
    return polygons, blocks


def _two_sections() -> tuple[list[np.ndarray], list[list[int]]]:
    """Title; two columns; a heading across both; two more columns (each column one paragraph)."""
    return _numbered(
        [
            [_box(60, 60, 900, 110)],
            _column(60, 150, 12),
            _column(520, 150, 12),
            [_box(60, 520, 640, 560)],
            _column(60, 600, 10),
            _column(520, 600, 9),
        ]
    )


@pytest.mark.parametrize("degrees", [0.0, 3.0, -3.0, 1.3])
def test_columns_are_read_one_after_the_other_on_a_skewed_page(degrees: float) -> None:
    polygons, expected = _two_sections()
    order, blocks, layout = _arrange_shuffled([_turned(p, degrees) for p in polygons])
    assert blocks == expected
    assert order == list(range(len(polygons)))
    assert layout.skew == pytest.approx(degrees, abs=0.05) and not layout.vertical


def test_paragraph_breaks_at_the_same_height_in_both_columns_do_not_interleave_them() -> None:
    # The case that trips a plain XY-cut: a blank line across the whole width, taller than the gutter.
    polygons, expected = _numbered(
        [
            _column(60, 100, 8),
            _column(60, 100 + 9 * 28, 8),
            _column(520, 100, 8),
            _column(520, 100 + 9 * 28, 8),
        ]
    )
    order, blocks, _ = _arrange_shuffled(polygons, seed=1)
    assert blocks == expected and order == list(range(len(polygons)))


def test_white_space_across_the_page_starts_a_section_even_under_a_narrow_heading() -> None:
    # The heading covers the first column only, so it cannot keep the sections apart by itself.
    polygons, expected = _numbered(
        [
            _column(60, 100, 8),
            _column(520, 100, 6),
            [_box(60, 400, 200, 430)],
            _column(60, 445, 5),
            _column(520, 445, 5),
        ]
    )
    order, blocks, _ = _arrange_shuffled(polygons, seed=7)
    assert blocks == expected and order == list(range(len(polygons)))


def test_three_columns_with_headings_inside_them() -> None:
    heading = [_box(60, 100, 180, 130)]  # short and larger: a heading over its column's text
    polygons, expected = _numbered(
        [
            [_box(60, 40, 900, 80)],
            heading,
            _column(60, 140, 10, width=250),
            _column(350, 100, 6, width=250),
            [_box(350, 290, 470, 320)],
            _column(350, 330, 5, width=250),
            _column(640, 100, 11, width=250),
        ]
    )
    order, blocks, _ = _arrange_shuffled(polygons, seed=2)
    assert blocks == expected and order == list(range(len(polygons)))


def test_a_paragraph_starts_at_an_indent_or_a_wider_gap_but_not_at_a_wider_line_spacing() -> None:
    indented = [_box(90, 100, 440, 122), *[_box(60, 128 + 28 * r, 440, 150 + 28 * r) for r in range(4)]]
    next_indent = [_box(90, 240, 440, 262), _box(60, 268, 440, 290)]
    after_gap = [_box(60, 330, 440, 352), _box(60, 358, 300, 380)]
    polygons, expected = _numbered([indented, next_indent, after_gap])
    order, blocks, _ = _arrange_shuffled(polygons, seed=3)
    assert blocks == expected and order == list(range(len(polygons)))
    # Double-spaced: every gap is wide, so none of them is a paragraph break.
    double = [_box(60, 100 + 50 * r, 440, 122 + 50 * r) for r in range(6)]
    assert arrange_lines(double).blocks == (tuple(range(6)),)


def test_lines_sharing_a_row_read_left_to_right_between_full_lines() -> None:
    polygons = [_box(60, 100, 900, 122), _box(60, 140, 300, 162), _box(600, 141, 900, 163), _box(60, 180, 900, 202)]
    order, blocks, _ = _arrange_shuffled(polygons, seed=4)
    assert order == [0, 1, 2, 3]
    assert blocks == [[0], [1], [2], [3]], "a line above or below two lines continues neither"


def test_a_page_of_vertical_lines_reads_its_columns_right_to_left() -> None:
    columns = [_box(800 - 50 * c, 100, 836 - 50 * c, 500) for c in range(6)]
    order, blocks, layout = _arrange_shuffled(columns, seed=5)
    assert layout.vertical
    assert order == list(range(6)) and blocks == [list(range(6))]


def test_a_vertical_line_beside_a_horizontal_page_is_a_block_of_its_own() -> None:
    polygons = [*_column(60, 100, 8), _box(880, 120, 916, 400)]
    order, blocks, layout = _arrange_shuffled(polygons, seed=6)
    assert not layout.vertical
    assert blocks == [list(range(8)), [8]] and order == list(range(9))


@pytest.mark.parametrize(
    ("polygons", "blocks"),
    [
        ([], ()),
        ([_box(60, 60, 400, 90)], ((0,),)),
        ([_box(-500, -500, 5000, 7000)], ((0,),)),  # one huge line, beyond the page
        ([[[10.0, 10.0]] * 4, [[10.0, 10.0]] * 4], ((0,), (1,))),  # degenerate duplicates
        ([[[0.0, 0.0], [50.0, 0.0], [25.0, 20.0]]], ((0,),)),  # a triangle
        ([_box(60, 60, 400, 90), _box(60, 60, 400, 90)], ((0,), (1,))),  # the same line twice
    ],
)
def test_few_or_odd_lines_have_a_defined_layout(polygons: list, blocks: tuple) -> None:
    assert arrange_lines(polygons).blocks == blocks


@pytest.mark.parametrize(
    ("polygon", "fragment"),
    [
        ([[0.0, float("nan")], [1.0, 1.0]], "NaN or infinite"),
        ([1.0, 2.0, 3.0], "[N, 2] array"),
        (np.zeros((0, 2)), "[N, 2] array"),
        ([["a", "b"]], "must be numbers"),
    ],
)
def test_malformed_polygons_are_refused_in_one_line(polygon: object, fragment: str) -> None:
    with pytest.raises(InputImageError) as caught:
        arrange_lines([_box(0, 0, 10, 10), polygon])  # type: ignore[list-item]
    assert fragment in str(caught.value) and "line 1" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_layout_is_the_same_whatever_order_the_lines_come_in() -> None:
    polygons, _ = _two_sections()
    skewed = [_turned(p, 2.0) for p in polygons]
    results = {tuple(map(tuple, _arrange_shuffled(skewed, seed)[1])) for seed in range(5)}
    assert len(results) == 1
