"""The benchmark's scores: detection matching, text per true line, CER, and the seam score."""

from __future__ import annotations

import numpy as np
import pytest

from difftsr_ocr.evaluation.metrics import (
    DetectionScore,
    SeamScore,
    TextScore,
    assign_texts,
    detection_score,
    match_polygons,
    polygon_iou,
    seam_score,
    text_score,
)
from difftsr_ocr.geometry.composite import composite
from difftsr_ocr.geometry.rectify import Patch


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_polygon_iou_of_known_overlaps() -> None:
    assert polygon_iou(box(0, 0, 10, 10), box(0, 0, 10, 10)) == pytest.approx(1.0)
    assert polygon_iou(box(0, 0, 10, 10), box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert polygon_iou(box(0, 0, 10, 10), box(20, 20, 30, 30)) == 0.0
    # A bow-tie (self-intersecting) quad is repaired, not an exception.
    assert 0.0 <= polygon_iou(np.array([[0, 0], [10, 10], [10, 0], [0, 10]]), box(0, 0, 10, 10)) <= 1.0


def test_matching_is_one_to_one_and_prefers_the_best_overlap() -> None:
    truth = [box(0, 0, 100, 20), box(0, 40, 100, 60)]
    predicted = [box(0, 1, 100, 21), box(0, 0, 100, 19), box(0, 41, 100, 61), box(300, 300, 310, 310)]
    pairs = match_polygons(predicted, truth)
    assert sorted(pairs) == [(1, 0), (2, 1)]  # box 1 overlaps truth 0 more than box 0 does
    score = detection_score(predicted, truth)
    assert (score.matched, score.predicted, score.expected) == (2, 4, 2)
    assert score.precision == pytest.approx(0.5) and score.recall == pytest.approx(1.0)
    total = score + DetectionScore(0, 0, 2)
    assert total.recall == pytest.approx(0.5)


def test_a_split_line_is_read_back_whole_in_reading_order() -> None:
    truth = [box(0, 0, 200, 20), box(0, 40, 20, 200)]
    predicted = [
        (box(105, 0, 200, 20), "world"),  # second half first: order comes from position
        (box(0, 0, 100, 20), "hello"),
        (box(0, 120, 20, 200), "排文"),
        (box(0, 40, 20, 118), "竖"),
        (box(500, 500, 600, 520), "noise"),  # in no true line
    ]
    texts = assign_texts(predicted, truth, vertical=[False, True])
    assert texts == ["hello world", "竖 排文"]


def test_text_score_counts_edits_per_true_character() -> None:
    score = text_score(["hello  world", "", "abd"], ["hello world", "xyz", "abc"])
    # Whitespace runs are not errors; a missing line costs its length; one substitution.
    assert (score.errors, score.characters) == (0 + 3 + 1, 11 + 3 + 3)
    assert score.cer == pytest.approx(4 / 17)
    assert (score + TextScore(1, 3)).cer == pytest.approx(5 / 20)


def _page() -> np.ndarray:
    rng = np.random.default_rng(0)
    page = np.full((120, 200, 3), 200, np.uint8)
    page[52:68, 50:150] = rng.integers(0, 255, (16, 100, 3))  # "text" texture, clear of the feather bands
    return page


def test_seam_score_is_one_when_the_patch_repeats_the_page() -> None:
    page = _page()
    mask = np.ones((60, 160), bool)
    patch = Patch(image=page[30:90, 20:180].copy(), mask=mask, x=20, y=30, text_height=40)
    after = composite(page, [patch])
    score = seam_score(page, after, [patch])
    assert score.band_ratio == pytest.approx(1.0, abs=1e-3)
    assert score.inside_ratio == pytest.approx(1.0, abs=1e-3)
    assert score.band_pixels > 0 and score.inside_pixels > 0


def test_seam_score_sees_a_patch_that_changes_the_background_level() -> None:
    page = _page()
    mask = np.ones((60, 160), bool)
    brighter = np.clip(page[30:90, 20:180].astype(int) + 50, 0, 255).astype(np.uint8)
    patch = Patch(image=brighter, mask=mask, x=20, y=30, text_height=40)
    hard = seam_score(page, composite(page, [patch], feather=0.0), [patch], feather=0.0)
    soft = seam_score(page, composite(page, [patch], feather=0.5), [patch], feather=0.5)
    assert hard.band_ratio > 2.0  # a 50-level step along the patch edge
    assert 1.0 < soft.band_ratio < hard.band_ratio  # feathering spreads it out
    assert (hard + soft).band_pixels == hard.band_pixels + soft.band_pixels
    assert SeamScore().band_ratio == 1.0
