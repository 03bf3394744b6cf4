"""The column page generator: seeded, and its truth (reading order, blocks, columns) consistent with its pixels."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon

from difftsr_ocr.evaluation.synthetic.columns import ACROSS, MAX_SKEW, ColumnPage, generate_column_page

SEEDS = range(6)


@pytest.fixture(scope="module")
def pages() -> dict[int, ColumnPage]:
    return {seed: generate_column_page(seed) for seed in SEEDS}


def _turn(points: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    d = points - centre
    return np.stack([cos * d[:, 0] + sin * d[:, 1], -sin * d[:, 0] + cos * d[:, 1]], axis=1) + centre


def test_same_seed_same_page_and_other_seed_other_page(pages: dict[int, ColumnPage]) -> None:
    again = generate_column_page(0)
    assert np.array_equal(again.image, pages[0].image)
    assert again.lines == pages[0].lines and again.blocks == pages[0].blocks and again.columns == pages[0].columns
    assert not np.array_equal(pages[0].image, pages[1].image)


def test_pages_have_two_or_three_columns_headings_and_a_skew(pages: dict[int, ColumnPage]) -> None:
    assert {page.column_count for page in pages.values()} == {2, 3}
    for page in pages.values():
        assert abs(page.skew) <= MAX_SKEW
        assert {column for _, column in page.columns} == {ACROSS, *range(page.column_count)}
        assert page.columns[0][1] == ACROSS, "a page opens with its title"
        assert page.name == f"columns-{page.seed:04d}"


def test_truth_reads_column_after_column_top_to_bottom(pages: dict[int, ColumnPage]) -> None:
    for page in pages.values():
        centre = np.array(page.image.shape[1::-1], np.float64) / 2.0
        upright = [_turn(line.polygon.astype(np.float64), -page.skew, centre) for line in page.lines]
        previous: dict[tuple[int, int], float] = {}
        for (section, column), polygon in zip(page.columns, upright, strict=True):
            top = float(polygon[:, 1].min())
            assert top > previous.get((section, column), -np.inf), "lines of a column run down the page"
            previous[(section, column)] = top
        # Reading order visits every column of a section once, left to right.
        visits = [key for index, key in enumerate(page.columns) if index == 0 or page.columns[index - 1] != key]
        assert len(visits) == len(set(visits))
        for section in {s for s, _ in visits}:
            assert [c for s, c in visits if s == section and c != ACROSS] == list(range(page.column_count))


def test_blocks_are_runs_of_one_column(pages: dict[int, ColumnPage]) -> None:
    for page in pages.values():
        assert page.blocks == sorted(page.blocks), "blocks are numbered in reading order"
        blocks = page.block_lines()
        assert [i for block in blocks for i in block] == list(range(len(page.lines)))
        for block in blocks:
            assert len({page.columns[i] for i in block}) == 1
            if page.columns[block[0]][1] == ACROSS:
                assert len(block) == 1, "a title or heading is a block of its own"


def test_lines_lie_inside_the_page_and_apart(pages: dict[int, ColumnPage]) -> None:
    for page in pages.values():
        height, width = page.image.shape[:2]
        shapes = [Polygon(line.polygon) for line in page.lines]
        for line in page.lines:
            assert line.polygon.min() >= 0 and line.polygon[:, 0].max() <= width and line.polygon[:, 1].max() <= height
        for index, shape in enumerate(shapes[:-1]):
            assert shape.intersection(shapes[index + 1]).area < 0.05 * min(shape.area, shapes[index + 1].area)


@pytest.mark.parametrize("seed", [-1, True, 1.5])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        generate_column_page(seed)  # type: ignore[arg-type]
