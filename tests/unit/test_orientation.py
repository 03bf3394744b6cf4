"""Deciding which lines stand on their heads (recognize/orientation.py), and turning a warp over (rectify.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.geometry import rectify_line, unrectify
from difftsr_ocr.geometry.rectify import turn_over
from difftsr_ocr.recognize.base import Recognition
from difftsr_ocr.recognize.orientation import lines_to_check, orient_lines
from tests.unit.geometry_helpers import blank_page, place_quad, render_line, rotated_rect


def test_an_upright_page_checks_only_the_lines_the_classifier_does_not_clear() -> None:
    check = lines_to_check([0.01, 0.5, 0.95, 0.02], [4.0, 4.0, 4.0, 4.0], threshold=0.9)
    assert check == [False, True, True, False]


def test_a_page_of_mostly_turned_lines_checks_every_line() -> None:
    check = lines_to_check([0.97, 0.99, 0.02, 0.95], [4.0, 4.0, 4.0, 4.0], threshold=0.9)
    assert check == [True, True, True, True]


def test_long_lines_outweigh_short_ones_in_the_page_vote() -> None:
    # Two confident page numbers upside down do not turn a page whose long line is upright.
    check = lines_to_check([0.99, 0.99, 0.01], [1.0, 1.0, 12.0], threshold=0.9)
    assert check == [True, True, False]


def test_the_threshold_must_say_something() -> None:
    with pytest.raises(ConfigError):
        lines_to_check([0.5], [1.0], threshold=0.5)


class _Classifier:
    name = "fixed"

    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = probabilities

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        return list(self.probabilities)


class _Reader:
    """Reads a crop whose top-left pixel is dark (its text's start) confidently, others hardly."""

    name = "fixed"

    def __init__(self) -> None:
        self.read: list[int] = []

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        self.read.append(len(crops))
        return [Recognition("text", 0.95 if crop[0, 0, 0] < 128 else 0.3) for crop in crops]


def _crop(upright: bool) -> np.ndarray:
    crop = np.full((10, 40, 3), 255, np.uint8)
    crop[0, 0] = 0  # where an upright line starts
    return crop if upright else np.ascontiguousarray(crop[::-1, ::-1])


def test_the_recogniser_decides_the_lines_the_classifier_flags() -> None:
    crops = [_crop(True), _crop(False), _crop(True)]
    reader = _Reader()
    as_is = reader.recognize(crops)
    # The classifier wrongly flags line 0 and misses nothing; the readings put it right.
    verdict = orient_lines(crops, as_is, _Classifier([0.5, 0.97, 0.01]), reader, threshold=0.9)
    assert verdict.upside_down == [False, True, False]
    assert [r.confidence for r in verdict.readings] == [0.95, 0.95, 0.95]
    assert reader.read == [3, 2]  # the third line was never read twice
    assert not verdict.page_upside_down


def test_a_turned_page_is_reported_as_one() -> None:
    crops = [_crop(False), _crop(False), _crop(True)]
    reader = _Reader()
    verdict = orient_lines(crops, reader.recognize(crops), _Classifier([0.99, 0.99, 0.3]), reader, threshold=0.9)
    assert verdict.upside_down == [True, True, False]
    assert verdict.page_upside_down


def test_no_lines_no_work() -> None:
    verdict = orient_lines([], [], _Classifier([]), _Reader(), threshold=0.9)
    assert verdict.upside_down == [] and not verdict.page_upside_down


def test_a_turned_crop_goes_back_onto_the_page_as_it_stands() -> None:
    line = render_line("Upside down text 42", 36)
    page = blank_page(700, 400)
    polygon = rotated_rect((350.0, 200.0), line.shape[1], line.shape[0], 180.0 + 7.0)
    place_quad(page, line, polygon)
    crop, warp = rectify_line(page, polygon)
    turned, turned_warp = turn_over(crop, warp)
    assert turned_warp.upside_down and not warp.upside_down
    np.testing.assert_array_equal(turned, crop[::-1, ::-1])
    # Whatever a restorer does to the turned crop comes back where the line stands.
    straight, back = unrectify(crop, warp), unrectify(turned, turned_warp)
    np.testing.assert_array_equal(back.image, straight.image)
    np.testing.assert_array_equal(back.mask, straight.mask)
    again, again_warp = turn_over(turned, turned_warp)
    np.testing.assert_array_equal(again, crop)
    assert not again_warp.upside_down
